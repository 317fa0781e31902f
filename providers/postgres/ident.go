package postgres

import "strings"

// quoteIdent returns name as PostgreSQL needs it in a statement: as is when
// it is a plain lower-case identifier ([a-z_][a-z0-9_]*) that is not a
// keyword the grammar reserves in some position, otherwise in double quotes
// with inner double quotes doubled. These are the rules of PostgreSQL's own
// quote_ident(), so public.orders stays public.orders and "Sales"."Order
// Lines" is quoted. (pgx.Identifier.Sanitize always quotes.)
func quoteIdent(name string) string {
	if plainIdent(name) {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// qualifiedName is schema.table, each part quoted by quoteIdent.
func qualifiedName(schema, table string) string {
	return quoteIdent(schema) + "." + quoteIdent(table)
}

func plainIdent(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch == '_':
		case ch >= '0' && ch <= '9' && i > 0:
		default:
			return false
		}
	}
	return !quotedKeywords[name]
}

// quotedKeywords are the keywords that are not UNRESERVED_KEYWORD in
// PostgreSQL 17's kwlist.h (the parser go-pgquery embeds): COL_NAME_KEYWORD,
// TYPE_FUNC_NAME_KEYWORD and RESERVED_KEYWORD. quote_ident() quotes exactly
// these. TestQuotedKeywords checks the list against the embedded parser's
// scanner and against the server's pg_get_keywords(); a word reserved only
// by an older server is still quoted here, which is harmless.
var quotedKeywords = func() map[string]bool {
	const words = `all analyse analyze and any array as asc asymmetric authorization
between bigint binary bit boolean both case cast char character check coalesce
collate collation column concurrently constraint create cross current_catalog
current_date current_role current_schema current_time current_timestamp
current_user dec decimal default deferrable desc distinct do else end except
exists extract false fetch float for foreign freeze from full grant greatest
group grouping having ilike in initially inner inout int integer intersect
interval into is isnull join json json_array json_arrayagg json_exists
json_object json_objectagg json_query json_scalar json_serialize json_table
json_value lateral leading least left like limit localtime localtimestamp
merge_action national natural nchar none normalize not notnull null nullif
numeric offset on only or order out outer overlaps overlay placing position
precision primary real references returning right row select session_user
setof similar smallint some substring symmetric system_user table tablesample
then time timestamp to trailing treat trim true union unique user using values
varchar variadic verbose when where window with xmlattributes xmlconcat
xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi xmlroot
xmlserialize xmltable`
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}()
