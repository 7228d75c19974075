// libxml2 for Swift: the global xmlFree is not concurrency-safe to touch from Swift 6.
#pragma once
// Debian builds libxml2 with ICU; its ICU headers clash with the copy Foundation carries. We use
// no ICU-backed encoding API, so the ICU parts of the headers are left out.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/HTMLparser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <libxml/parser.h>
#include <libxml/xmlreader.h>

static inline void cxml_free(void *p) { xmlFree(p); }

/// Parses XML from memory with no network access and no entity substitution or DTD loading
/// (so a hostile workbook cannot reach out or expand entities). Errors are silenced here;
/// a NULL result is the caller's error.
static inline xmlDocPtr cxml_read_xml(const char *buffer, int size) {
    return xmlReadMemory(buffer, size, "workbook.xml", NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS);
}

/// A pull reader over XML that `read` supplies a piece at a time (a workbook's sheet as it
/// inflates), with the same protections as cxml_read_xml. NULL when it cannot start.
static inline xmlTextReaderPtr cxml_reader_for_io(xmlInputReadCallback read, void *context) {
    return xmlReaderForIO(read, NULL, context, "workbook.xml", NULL,
                          XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS);
}
