// Junction's GraphiQL bootstrap (a file of its own: the page's
// Content-Security-Policy allows no inline script). It renders GraphiQL with
// a fetcher that sends the session cookie, turns a 401 into a sign-in hint,
// shows who is signed in (the GraphQL `me` query) and signs out with
// POST <logout URL>.
(function () {
  'use strict';

  var body = document.body;
  var endpoint = body.dataset.endpoint;
  var loginURL = body.dataset.loginUrl;
  var logoutURL = body.dataset.logoutUrl;
  var examples = [];
  try {
    examples = JSON.parse(body.dataset.examples || '[]');
  } catch (e) {
    console.error('junction: examples', e);
  }
  var container = document.getElementById('graphiql');
  var loading = document.getElementById('junction-loading');
  var notice = document.getElementById('junction-notice');
  var identity = document.getElementById('junction-identity');
  var signOut = document.getElementById('junction-signout');
  var signIn = document.getElementById('junction-signin');

  if (!window.React || !window.ReactDOM || !window.GraphiQL) {
    loading.textContent = "GraphiQL's scripts did not load (see the browser console). " +
      'The API itself answers at ' + endpoint + '.';
    return;
  }

  var ME = 'query JunctionMe { me { name email role tenant { name } } }';

  // The credentials the identity shown in the bar belongs to: "session"
  // (the cookie) or "header:<Authorization>" (GraphiQL's Headers tab).
  var shownFor = null;

  function authorization(headers) {
    for (var k in headers || {}) {
      if (k.toLowerCase() === 'authorization') return String(headers[k]);
    }
    return '';
  }

  function credentials(headers) {
    var a = authorization(headers);
    return a ? 'header:' + a : 'session';
  }

  function showSignedOut() {
    notice.hidden = false;
    signIn.hidden = false;
    signOut.hidden = true;
    identity.textContent = 'Not signed in';
    body.dataset.signedIn = 'false';
  }

  // showSignedIn is the hook for "signed in as": me is the `me` object,
  // how is "session" or "header".
  function showSignedIn(me, how) {
    notice.hidden = true;
    signIn.hidden = true;
    signOut.hidden = how !== 'session';
    var who = 'Signed in as ' + me.name;
    if (me.tenant && me.tenant.name) who += ' (' + me.tenant.name + ', ' + me.role + ')';
    if (how === 'header') who += ' with the Authorization header';
    identity.textContent = who;
    identity.title = me.email || '';
    body.dataset.signedIn = 'true';
  }

  function post(params, headers) {
    var h = {
      'Content-Type': 'application/json',
      'Accept': 'application/graphql-response+json, application/json;q=0.9'
    };
    for (var k in headers || {}) h[k] = headers[k];
    return fetch(endpoint, {
      method: 'POST',
      credentials: 'same-origin',
      headers: h,
      body: JSON.stringify(params)
    });
  }

  function whoAmI(headers) {
    var key = credentials(headers);
    shownFor = key;
    post({ query: ME, operationName: 'JunctionMe' }, headers).then(function (res) {
      if (shownFor !== key) return null;
      if (res.status === 401) {
        showSignedOut();
        return null;
      }
      return res.json();
    }).then(function (result) {
      if (shownFor === key && result && result.data && result.data.me) {
        showSignedIn(result.data.me, key === 'session' ? 'session' : 'header');
      }
    }).catch(function (e) {
      console.warn('junction: me', e);
    });
  }

  function unauthenticated() {
    var login = new URL(loginURL, location.href).href;
    return {
      errors: [{
        message: 'Not signed in (HTTP 401). Sign in at ' + login + ', or send an API token ' +
          'from the Headers tab as {"Authorization": "Bearer <token>"}; then reload the schema.',
        extensions: { code: 'unauthenticated' }
      }]
    };
  }

  function fetcher(params, opts) {
    var headers = (opts && opts.headers) || {};
    return post(params, headers).then(function (res) {
      if (res.status === 401) {
        shownFor = credentials(headers);
        showSignedOut();
        return unauthenticated();
      }
      if (credentials(headers) !== shownFor) whoAmI(headers);
      return res.text().then(function (text) {
        var result;
        try {
          result = JSON.parse(text);
        } catch (e) {
          return { errors: [{ message: 'HTTP ' + res.status + ' ' + res.statusText + ': ' + text.slice(0, 500) }] };
        }
        if (result && typeof result === 'object' && !('data' in result) && !('errors' in result)) {
          // A refusal in the REST shape, e.g. {"detail": ..., "code": "csrf"}.
          return {
            errors: [{
              message: typeof result.detail === 'string' ? result.detail : 'HTTP ' + res.status,
              extensions: { code: result.code, status: res.status }
            }]
          };
        }
        return result;
      });
    }, function (e) {
      return { errors: [{ message: 'Could not reach ' + endpoint + ': ' + e.message }] };
    });
  }

  signOut.addEventListener('click', function () {
    signOut.disabled = true;
    fetch(logoutURL, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: '{}'
    }).catch(function (e) {
      console.warn('junction: sign out', e);
    }).then(function () {
      location.reload();
    });
  });

  // GraphiQL's history saves each run's headers in localStorage whatever
  // shouldPersistHeaders says, so a token typed in the Headers tab would
  // outlive the tab. GraphiQL gets this storage instead, which is
  // localStorage without headers.
  function withoutHeaders(value) {
    if (typeof value !== 'string' || value.indexOf('"headers"') < 0) return value;
    try {
      return JSON.stringify(JSON.parse(value), function (k, v) {
        return k === 'headers' ? null : v;
      });
    } catch (e) {
      return value;
    }
  }
  var storage = null;
  try {
    var ls = window.localStorage;
    var prefix = 'graphiql:';
    var ownKeys = function () {
      var keys = [];
      for (var i = 0; i < ls.length; i++) {
        var k = ls.key(i);
        if (k && k.indexOf(prefix) === 0) keys.push(k);
      }
      return keys;
    };
    storage = {
      getItem: function (k) {
        return ls.getItem(k);
      },
      setItem: function (k, v) {
        if (k === prefix + 'headers') {
          ls.removeItem(k);
          return;
        }
        ls.setItem(k, withoutHeaders(v));
      },
      removeItem: function (k) {
        ls.removeItem(k);
      },
      get length() {
        return ownKeys().length;
      },
      clear: function () {
        ownKeys().forEach(function (k) {
          ls.removeItem(k);
        });
      }
    };
  } catch (e) {
    // Storage disabled: GraphiQL keeps its state in memory.
  }

  var tabs = examples.map(function (x) {
    return { query: x.query, variables: x.variables || undefined };
  });
  var props = {
    fetcher: fetcher,
    defaultTabs: tabs,
    defaultQuery: '# A new tab: write an operation (Ctrl-Space completes, Docs describes the schema).\n' +
      '{\n  me {\n    name\n  }\n}\n',
    // The examples take variables: open the Variables pane.
    defaultEditorToolsVisibility: 'variables',
    // A token typed in the Headers tab stays in this tab's memory only.
    shouldPersistHeaders: false,
    storage: storage
  };
  // GraphiQL fills the editors from the query and variables props, else
  // from what it saved last, and opens one more tab when they match no saved
  // tab. Give it the saved active tab's (on a first visit the first
  // example's), so the Variables pane is filled and a reload adds no
  // "<untitled>" tab.
  var initial = tabs[0];
  var saved = storage && storage.getItem('graphiql:tabState');
  if (saved) {
    try {
      var state = JSON.parse(saved);
      initial = state.tabs[state.activeTabIndex];
    } catch (e) {
      initial = null;
    }
  }
  if (initial) {
    props.query = initial.query || '';
    props.variables = initial.variables || '';
  }
  ReactDOM.createRoot(container).render(React.createElement(GraphiQL, props));
})();
