// GMime for Swift: the type-check and cast macros as functions, and the few calls that take
// GObject pointers of a subtype.
#pragma once
#include <gmime/gmime.h>

/// What a MIME object is.
enum cgmime_kind { CGMIME_OTHER = 0, CGMIME_MULTIPART = 1, CGMIME_MESSAGE_PART = 2, CGMIME_PART = 3 };

static inline void cgmime_init(void) { g_mime_init(); }

static inline int cgmime_kind(GMimeObject *object) {
    if (GMIME_IS_MULTIPART(object)) return CGMIME_MULTIPART;
    if (GMIME_IS_MESSAGE_PART(object)) return CGMIME_MESSAGE_PART;
    if (GMIME_IS_PART(object)) return CGMIME_PART;
    return CGMIME_OTHER;
}

/// Parses a whole message from memory (the bytes are copied); NULL when nothing could be read.
/// `warning` receives every problem the parser finds, with its offset.
static inline GMimeMessage *cgmime_parse_message(const unsigned char *bytes, size_t count, GMimeParserWarningFunc warning, void *context) {
    GByteArray *array = g_byte_array_sized_new((guint)count);
    g_byte_array_append(array, bytes, (guint)count);
    GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(array);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    GMimeParserOptions *options = g_mime_parser_options_new();
    g_mime_parser_options_set_warning_callback(options, warning, context);
    g_mime_parser_options_set_rfc2047_compliance_mode(options, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_parameter_compliance_mode(options, GMIME_RFC_COMPLIANCE_LOOSE);
    GMimeMessage *message = g_mime_parser_construct_message(parser, options);
    g_mime_parser_options_free(options);
    g_object_unref(parser);
    g_object_unref(stream);
    return message;
}

static inline void cgmime_release(void *object) { if (object) g_object_unref(object); }

static inline int cgmime_multipart_count(GMimeObject *object) { return g_mime_multipart_get_count(GMIME_MULTIPART(object)); }
static inline GMimeObject *cgmime_multipart_part(GMimeObject *object, int index) { return g_mime_multipart_get_part(GMIME_MULTIPART(object), index); }
static inline GMimeMessage *cgmime_message_part_message(GMimeObject *object) { return g_mime_message_part_get_message(GMIME_MESSAGE_PART(object)); }
static inline GMimeObject *cgmime_message_body(GMimeMessage *message) { return g_mime_message_get_mime_part(message); }

static inline const char *cgmime_media_type(GMimeObject *object) {
    GMimeContentType *type = g_mime_object_get_content_type(object);
    return type ? g_mime_content_type_get_media_type(type) : NULL;
}
static inline const char *cgmime_media_subtype(GMimeObject *object) {
    GMimeContentType *type = g_mime_object_get_content_type(object);
    return type ? g_mime_content_type_get_media_subtype(type) : NULL;
}
static inline const char *cgmime_content_parameter(GMimeObject *object, const char *name) {
    GMimeContentType *type = g_mime_object_get_content_type(object);
    return type ? g_mime_content_type_get_parameter(type, name) : NULL;
}
static inline const char *cgmime_disposition(GMimeObject *object) { return g_mime_object_get_disposition(object); }
/// The file name, RFC 2231 and RFC 2047 decoded (Content-Disposition filename, else Content-Type name).
static inline const char *cgmime_filename(GMimeObject *object) { return g_mime_part_get_filename(GMIME_PART(object)); }

/// The content with its transfer encoding (base64, quoted-printable, uuencode) removed, in a new
/// array (free with g_byte_array_unref); NULL when the part has none.
static inline GByteArray *cgmime_decoded_content(GMimeObject *object) {
    GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(object));
    if (!content) return NULL;
    GByteArray *array = g_byte_array_new();
    GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(array);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
    g_mime_data_wrapper_write_to_stream(content, stream);
    g_object_unref(stream);
    return array;
}
/// How many encoded bytes the part holds (-1 when unknown): decoding never yields more.
static inline gint64 cgmime_encoded_length(GMimeObject *object) {
    GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(object));
    if (!content) return 0;
    GMimeStream *stream = g_mime_data_wrapper_get_stream(content);
    return stream ? g_mime_stream_length(stream) : -1;
}
static inline const guint8 *cgmime_bytes(GByteArray *array) { return array->data; }
static inline size_t cgmime_byte_count(GByteArray *array) { return array->len; }
static inline void cgmime_free_bytes(GByteArray *array) { g_byte_array_unref(array); }

/// Text converted from the part's charset to UTF-8 (free with g_free); NULL when not a text part.
static inline char *cgmime_text_utf8(GMimeObject *object) {
    if (!GMIME_IS_TEXT_PART(object)) return NULL;
    return g_mime_text_part_get_text(GMIME_TEXT_PART(object));
}
static inline void cgmime_free_text(char *text) { g_free(text); }

static inline const char *cgmime_subject(GMimeMessage *message) { return g_mime_message_get_subject(message); }
static inline const char *cgmime_message_id(GMimeMessage *message) { return g_mime_message_get_message_id(message); }
/// The Date header as seconds since 1970, or 0 when absent or unreadable.
static inline gint64 cgmime_date(GMimeMessage *message) {
    GDateTime *date = g_mime_message_get_date(message);
    return date ? g_date_time_to_unix(date) : 0;
}
/// The bare addresses of the From header, one at a time (NULL past the last).
static inline const char *cgmime_from_address(GMimeMessage *message, int index) {
    InternetAddressList *list = g_mime_message_get_from(message);
    if (!list || index >= internet_address_list_length(list)) return NULL;
    InternetAddress *address = internet_address_list_get_address(list, index);
    return INTERNET_ADDRESS_IS_MAILBOX(address) ? internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(address)) : NULL;
}
/// A header of the message, decoded, or NULL.
static inline const char *cgmime_header(GMimeMessage *message, const char *name) {
    return g_mime_object_get_header(GMIME_OBJECT(message), name);
}
