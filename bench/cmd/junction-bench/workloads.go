package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"time"
)

// connectionFields are every plain field of Connection: what REST returns
// for a connection, and what the "all fields" GraphQL queries select.
const connectionFields = `id name slug provider config hasCredentials status visibility isDefault isFromTemplate
lastUsedAt lastVerifiedAt verificationError verificationErrorCode verificationDetails createdAt updatedAt createdBy updatedBy`

var (
	queryByID = `query ConnectionByID($id: ID!) { connection(id: $id) { ` + oneLine(connectionFields) + ` } }`
	queryList = `query Page { connections(sort: name, order: asc, limit: 100) { total hasNext connections { ` +
		oneLine(connectionFields) + ` } } }`
	queryListUsers = `query PageWithUsers { connections(sort: name, order: asc, limit: 100) { total hasNext users { id name email } connections { ` +
		oneLine(connectionFields) + ` createdByUser { id name email } } } }`
)

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func gqlBody(query string, vars map[string]any, ext map[string]any) string {
	m := map[string]any{}
	if query != "" {
		m["query"] = query
	}
	if vars != nil {
		m["variables"] = vars
	}
	if ext != nil {
		m["extensions"] = ext
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

func gqlHeaders(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json"}
}

// checks of probe answers.

func gqlData(body []byte) (map[string]any, error) {
	var r struct {
		Data   map[string]any    `json:"data"`
		Errors []json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, err
	}
	if len(r.Errors) > 0 {
		return nil, fmt.Errorf("GraphQL errors: %s", r.Errors[0])
	}
	return r.Data, nil
}

func checkGraphQL(f func(data map[string]any) error) func([]byte) error {
	return func(b []byte) error {
		d, err := gqlData(b)
		if err != nil {
			return err
		}
		return f(d)
	}
}

func checkJSON(f func(v map[string]any) error) func([]byte) error {
	return func(b []byte) error {
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		return f(v)
	}
}

// checkPage wants a page of want rows out of total.
func checkPage(want, total int) func(v map[string]any) error {
	return func(v map[string]any) error {
		rows, _ := v["connections"].([]any)
		if len(rows) != want {
			return fmt.Errorf("want %d connections, got %d", want, len(rows))
		}
		if t, _ := v["total"].(float64); int(t) != total {
			return fmt.Errorf("want total %d, got %v", total, v["total"])
		}
		return nil
	}
}

func checkConnection(v map[string]any) error {
	if id, _ := v["id"].(string); id == "" {
		return errors.New("no connection id")
	}
	return nil
}

// mainWorkloads are W1-W3 (W7 on SQLite) and W8, against the main tenant.
func mainWorkloads(j, raw *proc, db *database, ids []string, sqlite bool) []workload {
	tok := db.admin()
	var restPaths, rawPaths, gqlBodies, apqBodies, fullBodies []string
	hash := sha256.Sum256([]byte(queryByID))
	apq := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(hash[:])}}
	for _, id := range ids {
		restPaths = append(restPaths, "/api/v1/connections/"+id)
		rawPaths = append(rawPaths, "/connections/"+id)
		vars := map[string]any{"id": id}
		gqlBodies = append(gqlBodies, gqlBody(queryByID, vars, nil))
		apqBodies = append(apqBodies, gqlBody("", vars, apq))
		fullBodies = append(fullBodies, gqlBody(queryByID, vars, nil))
	}
	n := len(ids)
	hello := target{label: "raw GET /hello", server: raw, method: "GET", paths: []string{"/hello"},
		check: checkJSON(func(v map[string]any) error {
			if v["status"] != "ok" {
				return errors.New("not ok")
			}
			return nil
		})}
	oneRow := target{label: "raw one row by id", server: raw, method: "GET", paths: rawPaths, check: checkJSON(checkConnection)}
	rawPage := target{label: "raw 100 rows + count", server: raw, method: "GET", paths: []string{"/connections?limit=100"},
		check: checkJSON(checkPage(100, n))}
	rawPageUsers := target{label: "raw 100 rows + count, users joined", server: raw, method: "GET", paths: []string{"/connections-users?limit=100"},
		check: checkJSON(checkPage(100, n))}
	gqlByID := checkGraphQL(func(d map[string]any) error {
		c, _ := d["connection"].(map[string]any)
		return checkConnection(c)
	})
	listGoal := 0.6
	if sqlite {
		listGoal = 0.5
	}
	ws := []workload{
		{id: "W1", name: "GraphQL {__typename} with a token vs hello", baseLabel: "raw", goal: 0.6,
			main: target{label: "Junction GraphQL {__typename}", server: j, method: "POST", paths: []string{"/graphql"},
				bodies: []string{gqlBody("{__typename}", nil, nil)}, headers: gqlHeaders(tok),
				check: checkGraphQL(func(d map[string]any) error {
					if d["__typename"] != "Query" {
						return errors.New("no __typename")
					}
					return nil
				})},
			base: hello},
		{id: "W1", name: "GET /healthz vs hello", baseLabel: "raw", goal: 0.85,
			main: target{label: "Junction GET /healthz", server: j, method: "GET", paths: []string{"/healthz"}},
			base: hello},
		{id: "W2", name: "REST GET /connections/{id} vs one row", baseLabel: "raw", goal: 0.5,
			main: target{label: "Junction REST by id", server: j, method: "GET", paths: restPaths, headers: bearer(tok),
				check: checkJSON(checkConnection)},
			base: oneRow},
		{id: "W2", name: "GraphQL connection(id), all fields vs one row", baseLabel: "raw", goal: 0.4,
			main: target{label: "Junction GraphQL connection(id)", server: j, method: "POST", paths: []string{"/graphql"},
				bodies: gqlBodies, headers: gqlHeaders(tok), check: gqlByID},
			base: oneRow},
		{id: "W3", name: "REST list of 100 vs 100 rows + count", baseLabel: "raw", goal: listGoal,
			main: target{label: "Junction REST list of 100", server: j, method: "GET", paths: []string{"/api/v1/connections?sort=name&order=asc&limit=100"},
				headers: bearer(tok), check: checkJSON(checkPage(100, n))},
			base: rawPage},
		{id: "W3", name: "GraphQL list of 100 vs 100 rows + count", baseLabel: "raw", goal: 0.4,
			main: target{label: "Junction GraphQL list of 100", server: j, method: "POST", paths: []string{"/graphql"},
				bodies: []string{gqlBody(queryList, nil, nil)}, headers: gqlHeaders(tok),
				check: checkGraphQL(func(d map[string]any) error { return checkPage(100, n)(asMap(d["connections"])) })},
			base: rawPage},
		{id: "W3", name: "GraphQL list of 100 with users, createdByUser vs rows joined", baseLabel: "raw", goal: 0.35,
			main: target{label: "Junction GraphQL list of 100 + users", server: j, method: "POST", paths: []string{"/graphql"},
				bodies: []string{gqlBody(queryListUsers, nil, nil)}, headers: gqlHeaders(tok),
				check: checkGraphQL(func(d map[string]any) error { return checkPage(100, n)(asMap(d["connections"])) })},
			base: rawPageUsers},
		{id: "W8", name: "GraphQL connection(id): persisted-query hit vs full query text", baseLabel: "full query text",
			main: target{label: "Junction GraphQL APQ hit", server: j, method: "POST", paths: []string{"/graphql"},
				bodies: apqBodies, headers: gqlHeaders(tok), check: gqlByID},
			base: target{label: "Junction GraphQL full text", server: j, method: "POST", paths: []string{"/graphql"},
				bodies: fullBodies, headers: gqlHeaders(tok), check: gqlByID}},
	}
	if sqlite {
		for i := range ws {
			if ws[i].id != "W8" {
				ws[i].id = "W7/" + ws[i].id
			}
		}
	}
	return ws
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// scaleWorkloads compare the first REST page of 100 at big against small,
// for every sort key and both orders.
func scaleWorkloads(big, small *proc, bigDB, smallDB *database, nBig, nSmall int) []workload {
	var ws []workload
	for _, key := range []string{"name", "created_at", "updated_at", "last_verified_at", "status", "provider"} {
		for _, order := range []string{"asc", "desc"} {
			path := fmt.Sprintf("/api/v1/connections?sort=%s&order=%s&limit=100", key, order)
			ws = append(ws, workload{
				id: "L", name: fmt.Sprintf("REST page of 100 one at a time, sort=%s %s: %s vs %s rows", key, order, thousands(nBig), thousands(nSmall)),
				baseLabel: "page at " + thousands(nSmall), goal: 0.5,
				main: target{label: "Junction at " + thousands(nBig), server: big, method: "GET", paths: []string{path},
					headers: bearer(bigDB.admin()), check: checkJSON(checkPage(100, nBig)), sequential: true},
				base: target{label: "Junction at " + thousands(nSmall), server: small, method: "GET", paths: []string{path},
					headers: bearer(smallDB.admin()), check: checkJSON(checkPage(100, nSmall)), sequential: true},
			})
		}
	}
	return ws
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// crossCheck compares what Junction and the raw server answer, so the
// baseline is known to serve the same rows; differences are warnings.
func crossCheck(ctx context.Context, ws []workload) (notes []string) {
	checked := 0
	defer func() {
		if len(notes) == 0 && checked > 0 {
			notes = append(notes, fmt.Sprintf("Cross-check: in %d of the comparisons Junction and the raw baseline answered the same rows "+
				"(one row: every field; a page: the ids in order, the total and every field of its first row).", checked))
		}
	}()
	for _, w := range ws {
		if w.baseLabel != "raw" || w.base.server == nil || !strings.Contains(w.base.label, "row") {
			continue
		}
		mb, err := probe(ctx, w.main)
		if err != nil {
			continue
		}
		bb, err := probe(ctx, w.base)
		if err != nil {
			continue
		}
		var m, b map[string]any
		json.Unmarshal(mb, &m)
		json.Unmarshal(bb, &b)
		if strings.Contains(w.main.label, "GraphQL") {
			d := asMap(m["data"])
			if c, ok := d["connection"]; ok {
				m = asMap(c)
			} else {
				m = asMap(d["connections"])
			}
		}
		checked++
		if diff := compare(m, b); diff != "" {
			notes = append(notes, fmt.Sprintf("note: %s and %s differ: %s", w.main.label, w.base.label, diff))
		}
	}
	return notes
}

// compare reports how a Junction answer differs from the raw one: for a
// connection, every field; for a page, the ids in order and the total.
func compare(j, raw map[string]any) string {
	if rows, ok := raw["connections"].([]any); ok {
		jr, _ := j["connections"].([]any)
		ids := func(rs []any) []string {
			var out []string
			for _, r := range rs {
				id, _ := asMap(r)["id"].(string)
				out = append(out, id)
			}
			return out
		}
		if !reflect.DeepEqual(ids(jr), ids(rows)) {
			return "the pages hold different rows or orders"
		}
		if j["total"] != raw["total"] {
			return fmt.Sprintf("total %v vs %v", j["total"], raw["total"])
		}
		if len(jr) > 0 {
			return compare(asMap(jr[0]), asMap(rows[0]))
		}
		return ""
	}
	var diffs []string
	for k, v := range raw {
		if k == "createdByUser" || k == "updatedByUser" {
			continue
		}
		if !reflect.DeepEqual(j[k], v) {
			diffs = append(diffs, fmt.Sprintf("%s: %v vs %v", k, j[k], v))
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}

// registerAPQ stores the by-id query in Junction's persisted-query cache
// (one request carrying both the text and its hash), as a client does once.
func registerAPQ(ctx context.Context, j *proc, token, id string) error {
	hash := sha256.Sum256([]byte(queryByID))
	body := gqlBody(queryByID, map[string]any{"id": id},
		map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(hash[:])}})
	_, err := probe(ctx, target{label: "APQ registration", server: j, method: http.MethodPost, paths: []string{"/graphql"},
		bodies: []string{body}, headers: gqlHeaders(token), check: checkGraphQL(func(map[string]any) error { return nil })})
	return err
}

// benchmark runs every workload on one kind of database.
func (e *environment) benchmark(ctx context.Context, kind string) (*report, error) {
	rep := &report{kind: kind, version: e.version}
	var procs []*proc
	var dbs []*database
	startLoad := loadAverage()
	defer func() {
		rep.notes = append(rep.notes, fmt.Sprintf("Machine: %d CPUs; 1-minute load average %s at the start, %s at the end "+
			"(the benchmark itself adds about 3 while it runs; anything else running skews the ratios).", runtime.NumCPU(), startLoad, loadAverage()))
		for _, p := range procs {
			p.stop()
		}
		for _, db := range dbs {
			e.drop(db)
		}
	}()
	newDB := func(name string) (*database, error) {
		db, err := e.newDatabase(ctx, kind, name)
		if err != nil {
			return nil, err
		}
		dbs = append(dbs, db)
		if err := e.createUsers(ctx, db); err != nil {
			return nil, err
		}
		return db, nil
	}
	startJ := func(name string, db *database) (*proc, error) {
		p, err := e.startJunction(ctx, name, db)
		if p != nil {
			procs = append(procs, p)
		}
		return p, err
	}
	selected := func(ws []workload) []workload {
		var out []workload
		for _, w := range ws {
			if e.opts.Only == nil || e.opts.Only.MatchString(w.id+" "+w.name) {
				out = append(out, w)
			}
		}
		return out
	}
	run := func(ws []workload) error {
		for _, w := range ws {
			for _, t := range []target{w.main, w.base} {
				if _, err := probe(ctx, t); err != nil {
					return err
				}
			}
			e.logf("%s %s", w.id, w.name)
			res, err := e.measure(ctx, w, kind)
			rep.results = append(rep.results, res)
			if err != nil {
				return err
			}
		}
		return nil
	}

	// W1-W3 (W7 on SQLite) and W8: the main tenant.
	db, err := newDB("main")
	if err != nil {
		return rep, err
	}
	j, err := startJ("junction", db)
	if err != nil {
		return rep, err
	}
	start := time.Now()
	if err := e.seedAPI(ctx, j, db, e.opts.Rows); err != nil {
		return rep, fmt.Errorf("seed: %w", err)
	}
	e.logf("main: created %d connections through the REST API in %s", e.opts.Rows, time.Since(start).Round(time.Millisecond))
	if err := e.analyze(ctx, db); err != nil {
		return rep, err
	}
	ids, err := db.connectionIDs(ctx)
	if err != nil {
		return rep, err
	}
	raw, err := e.startRaw(ctx, db, db.tenantID)
	if err != nil {
		return rep, err
	}
	procs = append(procs, raw)
	if err := registerAPQ(ctx, j, db.admin(), ids[0]); err != nil {
		return rep, err
	}
	all := mainWorkloads(j, raw, db, ids, kind == "sqlite")
	rep.notes = append(rep.notes, crossCheck(ctx, all)...)
	var w1to3, w8 []workload
	for _, w := range all {
		if w.id == "W8" {
			w8 = append(w8, w)
		} else {
			w1to3 = append(w1to3, w)
		}
	}
	ran := selected(w1to3)
	if err := run(ran); err != nil {
		return rep, err
	}
	if rss, hwm, err := j.rss(); err == nil {
		after := "W3"
		if len(ran) == 0 || !strings.Contains(ran[len(ran)-1].id, "W3") {
			after = "the selected workloads"
		}
		rrss, _, _ := raw.rss()
		rep.notes = append(rep.notes, fmt.Sprintf("Resident size after %s (%s): Junction %.1f MiB (VmRSS; peak VmHWM %.1f MiB), raw baseline %.1f MiB.",
			after, kind, float64(rss)/1024, float64(hwm)/1024, float64(rrss)/1024))
	}
	if err := run(selected(w8)); err != nil {
		return rep, err
	}
	j.stop()
	raw.stop()
	if e.opts.NoScale {
		return rep, nil
	}
	scale := selected(scaleWorkloads(nil, nil, &database{users: []benchUser{{}}}, &database{users: []benchUser{{}}}, e.opts.ScaleBig, e.opts.ScaleSmall))
	if len(scale) == 0 {
		return rep, nil
	}

	// The list at scale: a tenant of ScaleBig against one of ScaleSmall,
	// each in a database of its own.
	var sized [2]*proc
	var sizedDB [2]*database
	for i, n := range []int{e.opts.ScaleSmall, e.opts.ScaleBig} {
		name := []string{"small", "big"}[i]
		d, err := newDB(name)
		if err != nil {
			return rep, err
		}
		p, err := startJ("junction-"+thousands(n), d)
		if err != nil {
			return rep, err
		}
		if err := e.seedBulk(ctx, p, d, n); err != nil {
			return rep, fmt.Errorf("seed %s: %w", name, err)
		}
		sized[i], sizedDB[i] = p, d
	}
	return rep, run(selected(scaleWorkloads(sized[1], sized[0], sizedDB[1], sizedDB[0], e.opts.ScaleBig, e.opts.ScaleSmall)))
}

// loadAverage is the first field of /proc/loadavg ("?" elsewhere).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
