// Junction's sign-in page (a file of its own: the Content-Security-Policy
// allows no inline script). It POSTs the token as JSON to the login URL
// (same origin, so the CSRF and JSON rules hold), which sets the session
// cookie, then returns to GraphiQL, which loads the schema with it.
(function () {
  'use strict';

  var body = document.body;
  var endpoint = body.dataset.endpoint;
  var loginURL = body.dataset.loginUrl;
  var home = body.dataset.home || '/';
  var form = document.getElementById('login-form');
  var input = document.getElementById('login-token');
  var submit = document.getElementById('login-submit');
  var error = document.getElementById('login-error');
  var current = document.getElementById('login-current');

  // Where to go after signing in: ?next=/path on this origin, else home.
  function next() {
    var n = new URLSearchParams(location.search).get('next');
    if (n && n.charAt(0) === '/' && n.charAt(1) !== '/' && n.charAt(1) !== '\\') return n;
    return home;
  }

  function showError(msg) {
    error.textContent = msg;
    error.hidden = false;
    body.dataset.loginState = 'error';
  }

  // Already signed in? Say as whom (the session cookie is sent along).
  fetch(endpoint, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
    body: JSON.stringify({ query: 'query JunctionMe { me { name role tenant { name } } }', operationName: 'JunctionMe' })
  }).then(function (res) {
    return res.ok ? res.json() : null;
  }).then(function (r) {
    var me = r && r.data && r.data.me;
    if (!me) return;
    current.textContent = 'You are signed in as ' + me.name + ' (' + me.tenant.name + ', ' + me.role +
      '). Signing in with another token replaces that session.';
    current.hidden = false;
  }).catch(function () {});

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var token = input.value.trim();
    error.hidden = true;
    if (!token) {
      showError('Paste an API token first.');
      return;
    }
    submit.disabled = true;
    body.dataset.loginState = 'pending';
    fetch(loginURL, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify({ token: token })
    }).then(function (res) {
      if (res.ok) {
        input.value = '';
        body.dataset.loginState = 'signed-in';
        location.assign(next());
        return;
      }
      return res.json().catch(function () { return {}; }).then(function (r) {
        if (res.status === 401) {
          showError('That token is not known: it may be mistyped, revoked or expired.');
        } else if (typeof r.detail === 'string') {
          showError(r.detail + ' (HTTP ' + res.status + ')');
        } else {
          showError('Sign-in failed: HTTP ' + res.status + '.');
        }
      });
    }, function (e) {
      showError('Could not reach the server: ' + e.message);
    }).then(function () {
      submit.disabled = false;
    });
  });
})();
