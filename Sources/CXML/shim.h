// libxml2 for Swift: the global xmlFree is not concurrency-safe to touch from Swift 6.
#pragma once
#include <libxml/HTMLparser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <libxml/parser.h>

static inline void cxml_free(void *p) { xmlFree(p); }
