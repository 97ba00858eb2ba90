/// The operations page's script (`GET /ops.js`). Plain browser JavaScript, no libraries. Every value from the bridge
/// reaches the page through `textContent`, never as HTML: client ids and usernames are whatever clients sent.
enum OperationsPageScript {
    static let source = #"""
        'use strict';
        const $ = (id) => document.getElementById(id);
        const tokenKey = 'mqtt-ws-bridge.admin-token';
        let token = sessionStorage.getItem(tokenKey);
        let stream = null;          // AbortController of the event stream
        let reconnect = null;       // timer
        let sessions = [];          // the last list from /api/v1/sessions
        let listing = false;        // a list request is in flight
        let listAgain = false;      // another one was asked for meanwhile

        function authorization() { return token ? { Authorization: 'Bearer ' + token } : {}; }

        function setState(state, text) { const element = $('state'); element.dataset.state = state; element.textContent = text ?? state; }
        function showError(message) { $('error').textContent = message ?? ''; }
        function notice(message) { $('notice').textContent = message ?? ''; }

        async function api(method, path) {
          const sent = token;
          const response = await fetch(path, { method, headers: authorization(), cache: 'no-store' });
          if (response.status === 401) { refused(sent); throw new Error('unauthorized'); }
          const body = await response.json().catch(() => ({}));
          if (!response.ok) throw new Error(body.error ?? ('HTTP ' + response.status));
          return body;
        }

        // A 401 signs out only if it answered the token in use: an answer to an older one (from before signing in) is stale.
        function refused(sent) {
          if (sent !== token) return;
          signOut(token ? 'the admin API refused this token' : 'this bridge needs its admin.token');
        }

        function signOut(message) {
          if (stream) stream.abort();
          stream = null;
          clearTimeout(reconnect);
          token = null;
          sessionStorage.removeItem(tokenKey);
          $('main').hidden = true;
          $('login').hidden = false;
          $('forget').hidden = true;
          $('login-message').textContent = message ?? '';
          setState('signed-out', 'signed out');
        }

        function signIn() {
          token = $('token').value.trim() || null;
          if (token) sessionStorage.setItem(tokenKey, token); else sessionStorage.removeItem(tokenKey);
          $('token').value = '';
          start();
        }

        function start() {
          $('login').hidden = true;
          $('main').hidden = false;
          $('forget').hidden = !token;
          showError('');
          refreshSessions();
          openStream();
        }

        // Server-Sent Events over fetch: EventSource cannot send the Authorization header.
        async function openStream() {
          clearTimeout(reconnect);
          if (stream) stream.abort();
          const controller = new AbortController();
          stream = controller;
          const sent = token;
          setState('connecting');
          try {
            const response = await fetch('/api/v1/events', { headers: authorization(), signal: controller.signal, cache: 'no-store' });
            if (response.status === 401) return refused(sent);
            if (!response.ok) throw new Error('event stream: HTTP ' + response.status);
            setState('live');
            showError('');
            const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
            let buffer = '';
            for (;;) {
              const { value, done } = await reader.read();
              if (done) break;
              buffer += value;
              let end;
              while ((end = buffer.indexOf('\n\n')) >= 0) {
                handleEvent(buffer.slice(0, end));
                buffer = buffer.slice(end + 2);
              }
            }
            showError('the event stream ended');
          } catch (error) {
            if (controller.signal.aborted) return;
            showError(error.message);
          }
          if (stream !== controller) return;
          setState('reconnecting');
          reconnect = setTimeout(openStream, 2000);
        }

        function handleEvent(block) {
          let event = 'message';
          const data = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (event !== 'stats' || data.length === 0) return;
          renderStats(JSON.parse(data.join('\n')));
          refreshSessions();  // the table follows the stream's pace
        }

        function pairs(list, entries, format) {
          const items = entries.map(([name, value]) => {
            const item = document.createElement('li');
            const label = document.createElement('span');
            label.textContent = name;
            const number = document.createElement('span');
            number.textContent = format(value);
            item.append(label, number);
            return item;
          });
          if (items.length === 0) {
            const item = document.createElement('li');
            item.className = 'muted';
            item.textContent = 'none';
            items.push(item);
          }
          $(list).replaceChildren(...items);
        }

        const rate = (value) => (value ?? 0).toFixed(1);
        function bytes(value) {
          const units = ['B', 'KiB', 'MiB', 'GiB'];
          let amount = value ?? 0;
          let unit = 0;
          while (amount >= 1024 && unit < units.length - 1) { amount /= 1024; unit += 1; }
          return amount.toFixed(unit === 0 ? 0 : 1) + ' ' + units[unit];
        }

        function renderStats(stats) {
          $('open-total').textContent = stats.sessions.open;
          pairs('by-route', Object.entries(stats.sessions.by_route), String);
          pairs('by-broker', Object.entries(stats.sessions.by_broker), String);
          pairs('handshakes', Object.entries(stats.handshakes_per_second), rate);
          $('messages-in').textContent = rate(stats.messages_per_second.in);
          $('messages-out').textContent = rate(stats.messages_per_second.out);
          $('messages-total-in').textContent = stats.messages_total.in;
          $('messages-total-out').textContent = stats.messages_total.out;
          $('bytes-in').textContent = bytes(stats.bytes_per_second.in) + '/s';
          $('bytes-out').textContent = bytes(stats.bytes_per_second.out) + '/s';
          const upstream = stats.upstream;
          $('upstream').textContent = upstream.status;
          $('upstream').className = 'big ' + (upstream.status === 'ready' ? 'ready' : 'not-ready');
          $('upstream-detail').textContent = [upstream.broker, upstream.reason, upstream.detail].filter(Boolean).join(' · ');
          pairs('refusals', stats.refusals.map((refusal) => [refusal.result + ' (' + refusal.route + ')', refusal.seconds_ago]),
            (seconds) => Math.round(seconds) + ' s ago');
        }

        async function refreshSessions() {
          if (listing) { listAgain = true; return; }
          listing = true;
          try {
            const answer = await api('GET', '/api/v1/sessions?limit=1000');
            sessions = answer.sessions;
            renderSessions();
          } catch (error) {
            if (error.message !== 'unauthorized') showError(error.message);
          } finally {
            listing = false;
            if (listAgain) { listAgain = false; refreshSessions(); }
          }
        }

        function age(seconds) {
          if (seconds < 60) return seconds + ' s';
          if (seconds < 3600) return Math.floor(seconds / 60) + ' min';
          return Math.floor(seconds / 3600) + ' h ' + Math.floor((seconds % 3600) / 60) + ' min';
        }

        function renderSessions() {
          const query = $('search').value.trim().toLowerCase();
          const fields = ['client_id', 'username', 'sub', 'client_address', 'route', 'broker', 'listener'];
          const shown = sessions.filter((session) => !query || fields.some((field) => (session[field] ?? '').toLowerCase().includes(query)));
          const rows = shown.map((session) => {
            const row = document.createElement('tr');
            row.dataset.id = session.id;
            row.dataset.clientId = session.client_id;
            const cells = [
              session.id, session.client_id, session.username ?? '–', session.sub ?? '–', session.client_address, session.listener,
              session.route, session.mqtt_version, session.broker ?? '–', age(session.connected_seconds),
              session.bytes_in, session.bytes_out, session.packets_in, session.packets_out,
            ];
            cells.forEach((value, index) => {
              const cell = document.createElement('td');
              cell.textContent = value;
              if (index >= 10) { cell.className = 'num'; cell.dataset.field = ['bytes_in', 'bytes_out', 'packets_in', 'packets_out'][index - 10]; }
              if (index === 9) cell.title = session.connected_since;
              row.append(cell);
            });
            const action = document.createElement('td');
            const kick = document.createElement('button');
            kick.type = 'button';
            kick.className = 'kick';
            kick.textContent = 'kick';
            kick.addEventListener('click', () => kickSession(session, kick));
            action.append(kick);
            row.append(action);
            return row;
          });
          $('sessions').replaceChildren(...rows);
          $('shown').textContent = shown.length + ' of ' + sessions.length + (sessions.length >= 1000 ? '+' : '');
        }

        async function kickSession(session, button) {
          button.disabled = true;
          try {
            const answer = await api('DELETE', '/api/v1/sessions/' + encodeURIComponent(session.id));
            notice('closed ' + answer.closed.map((closed) => closed.client_id + ' (' + closed.id + ')').join(', '));
          } catch (error) {
            if (error.message !== 'unauthorized') showError('kick: ' + error.message);
          }
          refreshSessions();
        }

        $('sign-in').addEventListener('click', signIn);
        $('token').addEventListener('keydown', (event) => { if (event.key === 'Enter') signIn(); });
        $('forget').addEventListener('click', () => signOut('token forgotten'));
        $('search').addEventListener('input', renderSessions);
        start();  // with the stored token, or none (a bridge without admin.token); a 401 shows the sign-in form
        """#
}
