// Package openapidoc builds the OpenAPI 3.1 document of the REST shim
// (rest.Router). go generate ./rest writes it to rest/openapi.json
// (rest/internal/genopenapi), which the server embeds and serves; rest's
// tests check the file is what this builds and that its paths and statuses
// match the router's.
package openapidoc

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/junctionhq/junction/graph/model"
	"github.com/junctionhq/junction/resolvers"
)

// JSON returns the document as written to rest/openapi.json: indented two
// spaces, keys in the order built, ending in a newline.
func JSON() ([]byte, error) {
	b, err := marshal(openAPIDocument())
	if err != nil {
		return nil, err
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, b, "", "  "); err != nil {
		return nil, err
	}
	pretty.WriteByte('\n')
	return pretty.Bytes(), nil
}

// obj is a JSON object that keeps its keys in the order written, so the
// generated document reads top-down (openapi, info, paths, components).
type obj []any

// o builds an obj from key, value pairs.
func o(kv ...any) obj { return obj(kv) }

// MarshalJSON writes the pairs in order.
func (m obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i := 0; i < len(m); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m[i])
		v, err := marshal(m[i+1])
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

func ref(name string) obj      { return o("$ref", "#/components/schemas/"+name) }
func response(name string) obj { return o("$ref", "#/components/responses/"+name) }
func str(desc string) obj      { return o("type", "string", "description", desc) }
func nullable(t string, desc string) obj {
	return o("type", []string{t, "null"}, "description", desc)
}

// nullableEnum lists vals and null.
func nullableEnum[T ~string](vals []T) []any {
	out := make([]any, 0, len(vals)+1)
	for _, v := range vals {
		out = append(out, string(v))
	}
	return append(out, nil)
}

func enumOf[T ~string](vals []T) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}

func ok(desc string, schema obj) obj {
	return o("description", desc, "content", o("application/json", o("schema", schema)))
}

// errs lists error responses by status.
func errs(statuses ...int) []any {
	names := map[int]string{400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
		413: "PayloadTooLarge", 422: "ValidationError", 429: "TooManyRequests", 500: "InternalError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}
	var out []any
	for _, s := range statuses {
		out = append(out, strconv.Itoa(s), response(names[s]))
	}
	return out
}

func op(id, tag, summary, desc string, params []any, body obj, responses ...any) obj {
	m := o("operationId", id, "tags", []string{tag}, "summary", summary, "description", desc)
	if len(params) > 0 {
		m = append(m, "parameters", params)
	}
	if body != nil {
		m = append(m, "requestBody", body)
	}
	return append(m, "responses", o(responses...))
}

var connectionID = o("$ref", "#/components/parameters/ConnectionId")

func queryParam(name, desc string, schema obj) obj {
	return o("name", name, "in", "query", "required", false, "description", desc, "schema", schema)
}

func requiredQueryParam(name, desc string, schema obj) obj {
	return o("name", name, "in", "query", "required", true, "description", desc, "schema", schema)
}

func jsonBody(schema string) obj {
	return o("required", true, "content", o("application/json", o("schema", ref(schema))))
}

// openAPIDocument is the OpenAPI 3.1 document of rest.Router.
func openAPIDocument() obj {
	connectionOK := ok("The connection.", ref("Connection"))
	byID := func(id, summary, desc string, codes ...int) obj {
		return op(id, "connections", summary, desc, []any{connectionID}, nil,
			append([]any{"200", connectionOK}, errs(codes...)...)...)
	}
	sortSchema := o("type", "string", "enum", enumOf(model.AllConnectionSort), "default", "name")
	orderSchema := o("type", "string", "enum", enumOf(model.AllSortOrder), "default", "asc")
	listParams := []any{
		queryParam("search", "Case-insensitive substring of the name or slug.", o("type", "string")),
		queryParam("sort", "Sort field; ties are broken by id.", sortSchema),
		queryParam("sort_by", "Alias of sort.", sortSchema),
		queryParam("sortBy", "Alias of sort.", sortSchema),
		queryParam("order", "Sort direction.", orderSchema),
		queryParam("sort_order", "Alias of order.", orderSchema),
		queryParam("sortOrder", "Alias of order.", orderSchema),
		queryParam("direction", "Alias of order.", orderSchema),
		queryParam("limit", "Page size.", o("type", "integer", "minimum", 1, "maximum", resolvers.MaxLimit, "default", resolvers.DefaultLimit)),
		queryParam("offset", "Rows to skip (offset mode).", o("type", "integer", "minimum", 0, "default", 0)),
		queryParam("cursor", "nextCursor of the previous page; when given, offset is ignored (cursor mode).", o("type", "string")),
	}

	paths := o(
		"/connections", o(
			"get", op("listConnections", "connections", "List connections",
				"One page of the connections the caller may see, with every creator and updater of the page in `users`.",
				listParams, nil, append([]any{"200", ok("One page.", ref("ConnectionList"))}, errs(401, 422, 500, 503)...)...),
			"post", op("createConnection", "connections", "Create a connection",
				"Stores a new connection with status `needs_verification`. Credentials are sealed and never returned.",
				nil, o("required", true, "content", o("application/json", o("schema", ref("CreateConnection")))),
				append([]any{"201", o("description", "Created.", "headers", o("Location", o("description", "The new connection's URL.", "schema", o("type", "string"))),
					"content", o("application/json", o("schema", ref("Connection"))))}, errs(401, 409, 413, 422, 500, 503)...)...),
		),
		"/connections/test", o(
			"post", op("testConnection", "connections", "Test settings without saving",
				"Runs the provider's cheapest read-only call with the given settings (merged with a stored connection's when `connectionId` is given). Nothing is saved; a failed check is data (`ok: false`), not an HTTP error.",
				nil, o("required", true, "content", o("application/json", o("schema", ref("TestConnection")))),
				append([]any{"200", ok("The outcome.", ref("TestResult"))}, errs(401, 403, 404, 409, 413, 422, 500, 503)...)...),
		),
		"/connections/slug/{slug}", o(
			"get", op("getConnectionBySlug", "connections", "Get a connection by slug", "The connection with this slug in the caller's tenant.",
				[]any{o("name", "slug", "in", "path", "required", true, "schema", o("type", "string"))}, nil,
				append([]any{"200", connectionOK}, errs(401, 404, 500, 503)...)...),
		),
		"/connections/{connection_id}", o(
			"get", byID("getConnection", "Get a connection", "The connection; another tenant's id answers 404 like an unknown one.", 401, 404, 422, 500, 503),
			"patch", op("updateConnection", "connections", "Update a connection",
				"An absent key keeps its value; `config` replaces the whole config; `credentials` is per key (a string sets, `null` removes). A change to config or credentials sets `needs_verification`. Changing a field that says where the connection goes (host, URL, endpoint, domain) without sending the secrets again is 422.",
				[]any{connectionID}, o("required", true, "content", o("application/json", o("schema", ref("UpdateConnection")))),
				append([]any{"200", connectionOK}, errs(401, 403, 404, 409, 413, 422, 500, 503)...)...),
			"delete", op("deleteConnection", "connections", "Delete a connection", "Deletes the connection and its sealed credentials.",
				[]any{connectionID}, nil, append([]any{"204", o("description", "Deleted.")}, errs(401, 403, 404, 422, 500, 503)...)...),
		),
		"/connections/{connection_id}/disable", o("post", byID("disableConnection", "Disable a connection",
			"Status becomes `disabled`; verify and the files, schema and query paths then answer 409 `connection_disabled`.", 401, 403, 404, 409, 422, 500, 503)),
		"/connections/{connection_id}/reactivate", o("post", byID("reactivateConnection", "Reactivate a connection",
			"A disabled connection returns to `needs_verification`; any other is returned unchanged.", 401, 403, 404, 409, 422, 500, 503)),
		"/connections/{connection_id}/set-default", o("post", byID("setDefaultConnection", "Make a connection its provider's default",
			"`isDefault` becomes true; the previous default of that provider in the tenant loses it in the same transaction.", 401, 403, 404, 409, 422, 500, 503)),
		"/connections/{connection_id}/verify", o("post", byID("verifyConnection", "Verify a connection",
			"Runs the provider's cheapest read-only call and stores the outcome in `status`, `lastVerifiedAt`, `verificationError(Code)` and `verificationDetails`. A failed check is data (200), not an HTTP error; a disabled connection is 409 `connection_disabled`.", 401, 404, 409, 422, 500, 503)),
		"/connections/{connection_id}/edit-settings", o(
			"get", op("getConnectionEditSettings", "connections", "Get what an edit form needs",
				"The config and, for every secret field of the provider's spec, whether it is set. Secret values are never returned.",
				[]any{connectionID}, nil, append([]any{"200", ok("The edit settings.", ref("EditSettings"))}, errs(401, 404, 422, 500, 503)...)...),
		),
		"/connections/{connection_id}/files", o(
			"get", op("listFiles", "files", "List files",
				"One page of a folder below the connection's root (s3, sftp, google_drive, msft_sharepoint, dropbox, gmail_inbox). "+
					"Items are folders and files; `id` is what a later call passes back as `path` or in `selectedItems`. "+
					"Pass `nextPageToken` back as `pageToken` for the next page; a token used for another connection or path is 422.",
				[]any{connectionID,
					queryParam("path", "A `/`-separated path below the root (`/` is the root), or `id:<native id>` where the store has ids.", o("type", "string", "default", "/")),
					queryParam("pageToken", "The nextPageToken of the previous page.", o("type", "string")),
					queryParam("pageSize", "Items per page.", o("type", "integer", "minimum", 1, "maximum", resolvers.MaxFilesPageSize, "default", resolvers.DefaultFilesPageSize)),
				}, nil, append([]any{"200", ok("One page.", ref("FilePage"))}, errs(400, 401, 404, 409, 422, 429, 500, 502, 503, 504)...)...),
		),
		"/connections/{connection_id}/files/validate", o(
			"post", op("validateFileSelection", "files", "Validate a file selection",
				"Counts the selected files (folders recursively, never outside the root) against the server's limits. "+
					"A selection past a limit, or naming something missing, is data (`valid: false` with `violations`), not an HTTP error.",
				[]any{connectionID}, jsonBody("FileSelection"),
				append([]any{"200", ok("What the selection holds.", ref("FileSelectionValidation"))}, errs(400, 401, 404, 409, 413, 422, 429, 500, 502, 503, 504)...)...),
		),
		"/connections/{connection_id}/schema/tables", o(
			"get", op("listSchemaTables", "schema", "List tables",
				"Tables, views, materialized views and foreign tables (salesforce: queryable objects; netsuite: record types). System schemas only with `includeSystem`.",
				[]any{connectionID,
					queryParam("includeSystem", "Include system schemas (pg_catalog, information_schema, sys, ...).", o("type", "boolean", "default", false)),
					queryParam("include_system", "Alias of includeSystem.", o("type", "boolean", "default", false)),
					queryParam("schema", "Only this schema.", o("type", "string")),
					queryParam("search", "Case-insensitive substring of the table name.", o("type", "string")),
				}, nil, append([]any{"200", ok("The tables.", ref("SchemaTableList"))}, errs(400, 401, 404, 409, 422, 429, 500, 502, 503, 504)...)...),
		),
		"/connections/{connection_id}/schema/columns", o(
			"get", op("listSchemaColumns", "schema", "List a table's columns",
				"The columns in catalog order; an unknown table is 404.",
				[]any{connectionID,
					requiredQueryParam("schema", "The table's schema.", o("type", "string")),
					requiredQueryParam("table", "The table's name.", o("type", "string")),
				}, nil, append([]any{"200", ok("The columns.", ref("SchemaColumns"))}, errs(400, 401, 404, 409, 422, 429, 500, 502, 503, 504)...)...),
		),
		"/connections/{connection_id}/schema/sample", o(
			"post", op("sampleSchemaTable", "schema", "Sample a table",
				"The first rows of a table, cut at `maxRows` (default 100, capped by the server) and a byte cap; `truncated` says more rows existed.",
				[]any{connectionID}, jsonBody("SampleRequest"),
				append([]any{"200", ok("The rows.", ref("SampleResult"))}, errs(400, 401, 404, 409, 413, 422, 429, 500, 502, 503, 504)...)...),
		),
		"/connections/{connection_id}/schema/query", o(
			"post", op("querySchema", "schema", "Run a read-only query",
				"Exactly one read-only statement, run in a read-only transaction with a statement timeout and always rolled back. "+
					"Anything else is refused before it reaches the database (422 at `[\"body\",\"sql\"]`); an error the database raises is 400 `query_failed`.",
				[]any{connectionID}, jsonBody("QueryRequest"),
				append([]any{"200", ok("The rows.", ref("QueryResult"))}, errs(400, 401, 404, 409, 413, 422, 429, 500, 502, 503, 504)...)...),
		),
		"/providers", o(
			"get", op("listProviders", "providers", "List providers",
				"Every provider's spec (config fields, secret fields, required, auth kinds, capabilities), so a frontend can render the create form.",
				nil, nil, append([]any{"200", ok("Every provider, in the contract's order.", o("type", "array", "items", ref("ProviderSpec")))}, errs(401, 500, 503)...)...),
		),
		"/me", o(
			"get", op("getMe", "account", "Who am I", "The caller: user, role and tenant.",
				nil, nil, append([]any{"200", ok("The caller.", ref("Me"))}, errs(401, 500, 503)...)...),
		),
		"/openapi.json", o(
			"get", append(op("getOpenAPI", "meta", "This document", "The OpenAPI 3.1 document of the REST surface. Public: no token needed.",
				nil, nil, append([]any{"200", ok("The document.", o("type", "object"))}, errs(500)...)...), "security", []any{}),
		),
	)

	timestamp := func(desc string) obj { return o("type", "string", "format", "date-time", "description", desc) }
	schemas := o(
		"Connection", o("type", "object", "description", "A stored connection. Every key is always present (null, never omitted); credentials are write-only.",
			"required", []string{"id", "name", "slug", "provider", "config", "hasCredentials", "status", "visibility", "isDefault", "isFromTemplate",
				"lastUsedAt", "lastVerifiedAt", "verificationError", "verificationErrorCode", "verificationDetails", "createdAt", "updatedAt", "createdBy", "updatedBy"},
			"properties", o(
				"id", o("type", "string", "format", "uuid"),
				"name", o("type", "string", "minLength", 1, "maxLength", resolvers.MaxNameLen),
				"slug", o("type", "string", "pattern", "^[a-z0-9-]{1,100}$", "description", "Unique per tenant; derived from the name unless given."),
				"provider", ref("Provider"),
				"config", o("type", "object", "additionalProperties", true, "description", "Non-secret settings, per the provider's spec."),
				"hasCredentials", o("type", "boolean", "description", "Whether any secret is stored."),
				"status", o("type", "string", "enum", enumOf(model.AllConnectionStatus),
					"description", "needs_verification: new or changed; active: the last verify passed; error: it failed; disabled: switched off."),
				"visibility", ref("Visibility"),
				"isDefault", o("type", "boolean", "description", "At most one default per provider in a tenant."),
				"isFromTemplate", o("type", "boolean"),
				"lastUsedAt", o("type", []string{"string", "null"}, "format", "date-time"),
				"lastVerifiedAt", o("type", []string{"string", "null"}, "format", "date-time"),
				"verificationError", nullable("string", "Human message of the last failed verify."),
				"verificationErrorCode", o("type", []string{"string", "null"}, "enum", []any{"auth_failed", "permission_denied", "not_found", "unreachable",
					"timeout", "rate_limited", "invalid_config", "tls_error", "blocked_address", "provider_error", nil}),
				"verificationDetails", o("type", "object", "additionalProperties", true, "description", "What verify learned (server version, account, region, scopes)."),
				"createdAt", timestamp("RFC 3339, UTC."),
				"updatedAt", timestamp("RFC 3339, UTC."),
				"createdBy", str("User id; details in the list's users map."),
				"updatedBy", str("User id; details in the list's users map."),
			)),
		"ConnectionList", o("type", "object", "required", []string{"connections", "hasNext", "limit", "offset", "total", "users", "nextCursor"},
			"properties", o(
				"connections", o("type", "array", "items", ref("Connection")),
				"hasNext", o("type", "boolean"),
				"limit", o("type", "integer"),
				"offset", o("type", "integer"),
				"total", o("type", "integer", "description", "Connections matching the search."),
				"users", o("type", "object", "additionalProperties", ref("User"), "description", "Every createdBy and updatedBy of the page, by id."),
				"nextCursor", nullable("string", "Opaque cursor of the next page; null on the last page."),
			)),
		"CreateConnection", o("type", "object", "required", []string{"name", "provider"}, "additionalProperties", false,
			"properties", o(
				"name", o("type", "string", "minLength", 1, "maxLength", resolvers.MaxNameLen),
				"provider", ref("Provider"),
				"credentials", o("type", []string{"object", "null"}, "additionalProperties", o("type", "string"), "description", "Secret values by field name."),
				"config", o("type", []string{"object", "null"}, "additionalProperties", true, "description", "Non-secret settings, per the provider's spec."),
				"visibility", o("type", []string{"string", "null"}, "enum", nullableEnum(model.AllVisibility), "default", "private"),
				"slug", o("type", []string{"string", "null"}, "pattern", "^[a-z0-9-]{1,100}$", "description", "Derived from the name when absent."),
				"isDefault", o("type", []string{"boolean", "null"}, "default", false),
			)),
		"UpdateConnection", o("type", "object", "additionalProperties", false, "description", "Every key is optional; an absent key keeps its value.",
			"properties", o(
				"name", o("type", "string", "minLength", 1, "maxLength", resolvers.MaxNameLen),
				"slug", o("type", "string", "pattern", "^[a-z0-9-]{1,100}$"),
				"config", o("type", []string{"object", "null"}, "additionalProperties", true, "description", "Replaces the whole config."),
				"credentials", o("type", []string{"object", "null"}, "additionalProperties", o("type", []string{"string", "null"}),
					"description", "Per key: a string sets, null removes, an absent key keeps."),
				"visibility", ref("Visibility"),
			)),
		"TestConnection", o("type", "object", "additionalProperties", false,
			"properties", o(
				"provider", o("type", []string{"string", "null"}, "enum", nullableEnum(model.AllProvider), "description", "Required unless connectionId is given."),
				"config", o("type", []string{"object", "null"}, "additionalProperties", true),
				"credentials", o("type", []string{"object", "null"}, "additionalProperties", o("type", []string{"string", "null"}),
					"description", "Per key: a string sets, null removes, an absent key keeps the stored value (with connectionId)."),
				"connectionId", o("type", []string{"string", "null"}, "format", "uuid", "description", "Merge the proposed settings with this stored connection's."),
			)),
		"TestResult", o("type", "object", "required", []string{"ok", "errorCode", "error", "details"},
			"properties", o(
				"ok", o("type", "boolean"),
				"errorCode", nullable("string", "A verificationErrorCode value when the check failed."),
				"error", nullable("string", "Human message when the check failed."),
				"details", o("type", "object", "additionalProperties", true),
			)),
		"EditSettings", o("type", "object", "required", []string{"config", "secretFields"},
			"properties", o(
				"config", o("type", "object", "additionalProperties", true),
				"secretFields", o("type", "object", "description", "Every secret field of the provider's spec.",
					"additionalProperties", o("type", "object", "required", []string{"configured"}, "properties", o("configured", o("type", "boolean")))),
			)),
		"ProviderSpec", o("type", "object", "required", []string{"name", "label", "category", "authKinds", "capabilities", "fields", "docsNote"},
			"properties", o(
				"name", ref("Provider"),
				"label", o("type", "string"),
				"category", o("type", "string", "description", "database, files or api"),
				"authKinds", o("type", "array", "items", o("type", "string")),
				"capabilities", o("type", "array", "items", o("type", "string"), "description", "verify, files, schema, query"),
				"fields", o("type", "array", "items", ref("ProviderField")),
				"docsNote", nullable("string", "Where the public documentation is partial and what was assumed."),
			)),
		"ProviderField", o("type", "object", "required", []string{"name", "label", "type", "secret", "required", "requiredWhen", "default", "enum", "target", "help"},
			"properties", o(
				"name", o("type", "string"),
				"label", o("type", "string"),
				"type", o("type", "string", "enum", []string{"string", "int", "bool", "enum", "string_list", "object"}),
				"secret", o("type", "boolean"),
				"required", o("type", "boolean"),
				"requiredWhen", o("oneOf", []any{ref("FieldCondition"), o("type", "null")}),
				"default", o("description", "Any JSON value, or null."),
				"enum", o("type", []string{"array", "null"}, "items", o("type", "string")),
				"target", o("type", "boolean", "description", "The field says where the connection goes; changing it requires sending the secrets again."),
				"help", nullable("string", "Hint for the form."),
			)),
		"FieldCondition", o("type", "object", "required", []string{"field", "values"},
			"properties", o("field", o("type", "string"), "values", o("type", "array", "items", o("type", "string")))),
		"User", o("type", "object", "required", []string{"id", "name", "email"},
			"properties", o("id", o("type", "string", "format", "uuid"), "name", o("type", "string"), "email", o("type", "string"))),
		"Me", o("type", "object", "required", []string{"id", "name", "email", "role", "tenant"},
			"properties", o("id", o("type", "string", "format", "uuid"), "name", o("type", "string"), "email", o("type", "string"),
				"role", o("type", "string", "enum", []string{"admin", "member"}), "tenant", ref("Tenant"))),
		"Tenant", o("type", "object", "required", []string{"id", "name"},
			"properties", o("id", o("type", "string", "format", "uuid"), "name", o("type", "string"))),
		"FilePage", o("type", "object", "required", []string{"items", "nextPageToken", "path"},
			"properties", o(
				"items", o("type", "array", "items", ref("FileItem")),
				"nextPageToken", nullable("string", "Pass back as pageToken for the next page; null on the last page."),
				"path", str("The folder listed."),
			)),
		"FileItem", o("type", "object", "required", []string{"id", "kind", "mimeType", "modifiedAt", "name", "path", "size"},
			"properties", o(
				"id", str("What a later call passes back as path or in selectedItems to reach this item."),
				"kind", o("type", "string", "enum", enumOf(model.AllFileKind)),
				"mimeType", nullable("string", "From the store, else from the extension; null for folders."),
				"modifiedAt", o("type", []string{"string", "null"}, "format", "date-time", "description", "null where the store has none."),
				"name", o("type", "string"),
				"path", str("Slash path below the connection's root (folders without a trailing slash)."),
				"size", o("type", []string{"integer", "null"}, "description", "Bytes; null for folders."),
			)),
		"FileSelection", o("type", "object", "required", []string{"selectedItems"}, "additionalProperties", false,
			"properties", o(
				"selectedItems", o("type", "array", "items", o("type", "string"), "minItems", 1, "maxItems", resolvers.MaxSelectedItems,
					"description", "Paths or ids of files and folders."),
			)),
		"FileSelectionValidation", o("type", "object", "required", []string{"valid", "violations", "totalItems", "totalBytes", "maxDepth"},
			"properties", o(
				"valid", o("type", "boolean", "description", "True when there are no violations."),
				"violations", o("type", "array", "items", ref("FileViolation")),
				"totalItems", o("type", "integer", "description", "Files counted (folders count recursively)."),
				"totalBytes", o("type", "integer", "description", "Their sizes."),
				"maxDepth", o("type", "integer", "description", "The deepest file's depth below its selected item (a selected file is 0)."),
			)),
		"FileViolation", o("type", "object", "required", []string{"item", "code", "message"},
			"properties", o(
				"item", str("The selected item."),
				"code", o("type", "string", "enum", []string{"not_found", "permission_denied", "outside_root", "too_many_items", "too_deep", "timeout"}),
				"message", o("type", "string"),
			)),
		"SchemaTableList", o("type", "object", "required", []string{"tables"},
			"properties", o("tables", o("type", "array", "items", ref("SchemaTable")))),
		"SchemaTable", o("type", "object", "required", []string{"schema", "table", "normalizedName", "spec", "kind"},
			"properties", o(
				"schema", o("type", "string"),
				"table", o("type", "string"),
				"normalizedName", str("Lowercase, runs of other characters turned into `_` (`Order Lines` -> `order_lines`)."),
				"spec", str("The qualified, correctly quoted reference to use in a query (`public.orders`, `\"Sales\".\"Order Lines\"`, `[dbo].[Orders]`)."),
				"kind", o("type", "string", "enum", enumOf(model.AllTableKind)),
			)),
		"SchemaColumns", o("type", "object", "required", []string{"schema", "table", "columns"},
			"properties", o("schema", o("type", "string"), "table", o("type", "string"), "columns", o("type", "array", "items", ref("SchemaColumn")))),
		"SchemaColumn", o("type", "object", "required", []string{"name", "normalizedName", "dataType", "nullable", "primaryKey"},
			"properties", o(
				"name", o("type", "string"),
				"normalizedName", o("type", "string"),
				"dataType", str("As the database spells it (`integer`, `numeric(10,2)`, `character varying(255)`)."),
				"nullable", o("type", "boolean"),
				"primaryKey", o("type", "boolean", "description", "True for every column of the primary key."),
			)),
		"SampleRequest", o("type", "object", "required", []string{"schema", "table"}, "additionalProperties", false,
			"properties", o(
				"schema", o("type", "string"),
				"table", o("type", "string"),
				"maxRows", o("type", []string{"integer", "null"}, "minimum", 1, "description", "Default 100; the server's cap bounds it."),
			)),
		"SampleResult", o("type", "object", "required", []string{"schema", "table", "columns", "rows", "rowCount", "maxRows", "truncated"},
			"properties", o(
				"schema", o("type", "string"),
				"table", o("type", "string"),
				"columns", o("type", "array", "items", ref("SchemaColumn")),
				"rows", o("type", "array", "items", ref("Row")),
				"rowCount", o("type", "integer"),
				"maxRows", o("type", "integer", "description", "The limit applied."),
				"truncated", o("type", "boolean", "description", "True when more rows existed than were returned."),
			)),
		"QueryRequest", o("type", "object", "required", []string{"sql"}, "additionalProperties", false,
			"properties", o(
				"sql", o("type", "string", "minLength", 1, "maxLength", resolvers.MaxSQLLength, "description", "Exactly one read-only statement."),
				"maxRows", o("type", []string{"integer", "null"}, "minimum", 1, "description", "Default 1000; the server's cap bounds it."),
			)),
		"QueryResult", o("type", "object", "required", []string{"columns", "rows", "rowCount", "maxRows", "truncated", "queryHash", "tableRefs"},
			"properties", o(
				"columns", o("type", "array", "items", o("type", "string"), "description", "Column names in result order."),
				"rows", o("type", "array", "items", ref("Row")),
				"rowCount", o("type", "integer"),
				"maxRows", o("type", "integer", "description", "The limit applied."),
				"truncated", o("type", "boolean", "description", "True when more rows existed than were returned."),
				"queryHash", str("Hex SHA-256 of the statement, trimmed, with white space outside literals collapsed."),
				"tableRefs", o("type", "array", "items", ref("TableRef"), "description", "Every real table or view the statement reads."),
			)),
		"TableRef", o("type", "object", "required", []string{"schema", "table"},
			"properties", o("schema", o("type", "string"), "table", o("type", "string"))),
		"Row", o("type", "object", "additionalProperties", true,
			"description", "One row: the columns in result order with their values. Integers beyond +-2^53 and decimals are strings, "+
				"timestamps RFC 3339, bytes base64, json as JSON, arrays as arrays."),
		"Provider", o("type", "string", "enum", enumOf(model.AllProvider)),
		"Visibility", o("type", "string", "enum", enumOf(model.AllVisibility), "description", "private: the creator (and tenant admins); global: the whole tenant."),
		"Error", o("type", "object", "required", []string{"detail"},
			"properties", o("detail", str("Human message, without internals."),
				"code", o("type", "string", "enum", []string{"not_found", "forbidden", "conflict", "connection_disabled", "unsupported_operation",
					"query_failed", "auth_failed", "permission_denied", "unreachable", "tls_error", "blocked_address", "invalid_config",
					"provider_error", "timeout", "rate_limited", "request_too_large", "unavailable", "internal"}))),
		"HTTPValidationError", o("type", "object", "required", []string{"detail"},
			"properties", o("detail", o("type", "array", "items", ref("ValidationError")))),
		"ValidationError", o("type", "object", "required", []string{"loc", "msg", "type"},
			"description", "One problem, as pydantic v2 reports it.",
			"properties", o(
				"loc", o("type", "array", "items", o("type", []string{"string", "integer"}), "description", "path, query or body, then the field (a JSON decode error gives the character position)."),
				"msg", o("type", "string"),
				"type", o("type", "string", "description", "missing, string_type, string_too_short, string_too_long, string_pattern_mismatch, int_parsing, int_type, int_from_float, list_type, too_short, too_long, greater_than_equal, less_than_equal, enum, uuid_parsing, dict_type, bool_parsing, bool_type, json_invalid, extra_forbidden, value_error"),
			)),
	)

	errResp := func(desc, example string) obj {
		return o("description", desc, "content", o("application/json", o("schema", ref("Error"), "example", json.RawMessage(example))))
	}
	responses := o(
		"Unauthorized", o("description", "Missing or unknown token.", "content", o("application/json", o("schema", ref("Error"), "example", json.RawMessage(`{"detail":"Not authenticated"}`)))),
		"Forbidden", errResp("Only the connection's creator or a tenant admin may change it.", `{"detail":"Only the connection's creator or a tenant admin can change it","code":"forbidden"}`),
		"BadRequest", errResp("The provider cannot do that (`unsupported_operation`), or the database refused the statement (`query_failed`, with its message).",
			`{"detail":"s3 connections do not support schema browsing","code":"unsupported_operation"}`),
		"NotFound", errResp("No such connection visible to the caller; for files and schema calls also no such path or table.", `{"detail":"Connection not found","code":"not_found"}`),
		"Conflict", errResp("Slug taken, a concurrent change, the connection is disabled, or (google_drive) a path two items share.", `{"detail":"The connection is disabled; reactivate it first","code":"connection_disabled"}`),
		"PayloadTooLarge", errResp("The body is over the server's limit (JUNCTION_MAX_BODY_BYTES).", `{"detail":"Request body too large: the limit is 1048576 bytes","code":"request_too_large"}`),
		"ValidationError", o("description", "Every problem of the request, pydantic-shaped.", "content", o("application/json", o("schema", ref("HTTPValidationError"),
			"example", json.RawMessage(`{"detail":[{"loc":["body","name"],"msg":"String should have at least 1 character","type":"string_too_short"}]}`)))),
		"TooManyRequests", o("description", "The provider rate-limited Junction.",
			"headers", o("Retry-After", o("description", "Seconds to wait, when the provider said.", "schema", o("type", "integer"))),
			"content", o("application/json", o("schema", ref("Error"), "example", json.RawMessage(`{"detail":"klaviyo: rate limited","code":"rate_limited"}`)))),
		"BadGateway", errResp("The provider failed; the code says how (auth_failed, permission_denied, unreachable, tls_error, blocked_address, invalid_config, provider_error).",
			`{"detail":"s3: the access key was refused (InvalidAccessKeyId)","code":"auth_failed"}`),
		"ServiceUnavailable", o("description", "Junction's own database cannot serve right now; retry the same request after Retry-After.",
			"headers", o("Retry-After", o("description", "Seconds to wait.", "schema", o("type", "integer"))),
			"content", o("application/json", o("schema", ref("Error"), "example", json.RawMessage(`{"detail":"Database unavailable: retry in a few seconds","code":"unavailable"}`)))),
		"GatewayTimeout", errResp("The provider did not answer in time.", `{"detail":"postgres: the statement timed out","code":"timeout"}`),
		"InternalError", errResp("Something failed on the server; the log has the details under the X-Request-Id.", `{"detail":"Internal server error","code":"internal"}`),
	)

	return o(
		"openapi", "3.1.0",
		"info", o("title", "Junction REST API", "version", "1.0.0",
			"description", "The legacy Connections API served by Junction at /api/v1, through the same resolvers as GraphQL. "+
				"Validation errors are FastAPI/pydantic v2 shaped (422); other errors are `{detail, code}`."),
		"servers", []any{o("url", "/api/v1", "description", "This server")},
		"security", []any{o("bearerAuth", []string{}), o("sessionCookie", []string{})},
		"tags", []any{
			o("name", "connections", "description", "Stored connections to external systems."),
			o("name", "files", "description", "Browsing a file store connection and validating a selection."),
			o("name", "schema", "description", "Browsing a database connection's catalog, sampling tables and running read-only queries."),
			o("name", "providers", "description", "The external systems Junction can connect to."),
			o("name", "account", "description", "The caller."),
			o("name", "meta", "description", "This API's description."),
		},
		"paths", paths,
		"components", o(
			"securitySchemes", o(
				"bearerAuth", o("type", "http", "scheme", "bearer", "description", "An API token (`junction token create`)."),
				"sessionCookie", o("type", "apiKey", "in", "cookie", "name", "junction_session", "description", "Set by POST /login."),
			),
			"parameters", o("ConnectionId", o("name", "connection_id", "in", "path", "required", true,
				"description", "The connection's id; anything but a UUID is 422 uuid_parsing.", "schema", o("type", "string", "format", "uuid"))),
			"schemas", schemas,
			"responses", responses,
		),
	)
}
