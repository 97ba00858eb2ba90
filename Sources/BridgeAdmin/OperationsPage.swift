/// The operations page (`GET /ops`, `GET /ops.js`): served by the admin listener only, never by the public WebSocket
/// listeners. Self-contained — no CDN, no fonts or images from elsewhere — so it works offline and behind an
/// air gap. The page asks for `admin.token` and keeps it in `sessionStorage` only (gone when the tab closes); it reads
/// `/api/v1/events` (with `fetch`, since `EventSource` cannot send an `Authorization` header) and `/api/v1/sessions`.
///
/// Built into the binary rather than read from a directory: the admin listener has nothing to configure or deploy for
/// it, and what it serves always matches the API it talks to.
struct OperationsPage: Sendable {
    static let path = "/ops"
    static let scriptPath = "/ops.js"

    /// Scripts from this origin only, no inline script; styles inline (the page's own); requests to this origin only.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

    var routes: [AdminRoute] {
        [
            Self.asset(Self.path, contentType: "text/html; charset=utf-8", body: Array(Self.html.utf8)),
            Self.asset(Self.scriptPath, contentType: "text/javascript; charset=utf-8", body: Array(OperationsPageScript.source.utf8)),
        ]
    }

    private static func asset(_ path: String, contentType: String, body: [UInt8]) -> AdminRoute {
        AdminRoute(
            path: path, methods: [.GET], bodyLimit: AdminEndpoints.otherBodyLimit,
            tooLarge: { .error(.payloadTooLarge, "request bodies are not used here") },
            respond: { _, _ in
                AdminResponse(
                    status: .ok,
                    headers: [
                        ("Content-Type", contentType), ("Cache-Control", "no-cache"), ("X-Content-Type-Options", "nosniff"),
                        ("Content-Security-Policy", contentSecurityPolicy), ("Referrer-Policy", "no-referrer"),
                    ],
                    body: body)
            })
    }

    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>mqtt-ws-bridge · operations</title>
        <link rel="icon" href="data:,">
        <style>
          :root { color-scheme: light dark; --line: #8884; --muted: #888; --accent: #2b7de9; --bad: #d33; --good: #2a2; }
          * { box-sizing: border-box; }
          body { font: 14px/1.4 system-ui, sans-serif; margin: 0; padding: 16px 20px; }
          header { display: flex; align-items: baseline; gap: 16px; flex-wrap: wrap; }
          h1 { font-size: 18px; margin: 0; }
          h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0 0 6px; }
          #state { padding: 2px 8px; border-radius: 10px; background: #8882; }
          #state[data-state=live] { background: #2a23; }
          #error { color: var(--bad); }
          #notice { color: var(--accent); }
          .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 12px; margin: 14px 0; }
          .card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; min-height: 84px; }
          .big { font-size: 26px; font-variant-numeric: tabular-nums; }
          .pairs { list-style: none; margin: 0; padding: 0; font-variant-numeric: tabular-nums; }
          .pairs li { display: flex; justify-content: space-between; gap: 8px; }
          .muted { color: var(--muted); }
          .ready { color: var(--good); } .not-ready { color: var(--bad); }
          table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
          th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; }
          td.num, th.num { text-align: right; }
          input, button { font: inherit; padding: 4px 8px; }
          button.kick { color: var(--bad); }
          #login { border: 1px solid var(--line); border-radius: 8px; padding: 12px; max-width: 520px; margin: 14px 0; }
          #login[hidden], #main[hidden] { display: none; }
          #login input { width: 100%; margin: 6px 0; }
        </style>
        </head>
        <body>
        <header>
          <h1>mqtt-ws-bridge · operations</h1>
          <span id="state" data-state="signed-out">signed out</span>
          <span id="notice"></span>
          <span id="error"></span>
          <button id="forget" type="button" hidden>forget token</button>
        </header>

        <section id="login" hidden>
          <h2>Admin token</h2>
          <p class="muted">The bearer token of the admin API (<code>admin.token</code>). It is kept in this tab's session storage only.
          Leave it empty when the bridge runs without one (admin listener on loopback).</p>
          <input id="token" type="password" autocomplete="off" spellcheck="false" placeholder="admin.token">
          <button id="sign-in" type="button">Open the operations view</button>
          <p id="login-message" class="muted"></p>
        </section>

        <main id="main" hidden>
          <div class="grid">
            <div class="card"><h2>Open sessions</h2><div class="big" id="open-total">–</div>
              <ul class="pairs" id="by-route"></ul></div>
            <div class="card"><h2>Sessions per broker</h2><ul class="pairs" id="by-broker"></ul></div>
            <div class="card"><h2>Handshakes per second</h2><ul class="pairs" id="handshakes"></ul></div>
            <div class="card"><h2>Messages per second</h2>
              <ul class="pairs"><li><span>in (client → broker)</span><span id="messages-in">–</span></li>
              <li><span>out (broker → client)</span><span id="messages-out">–</span></li>
              <li class="muted"><span>total in / out</span><span><span id="messages-total-in">–</span> / <span id="messages-total-out">–</span></span></li></ul></div>
            <div class="card"><h2>Bytes per second</h2>
              <ul class="pairs"><li><span>in</span><span id="bytes-in">–</span></li><li><span>out</span><span id="bytes-out">–</span></li></ul></div>
            <div class="card"><h2>Upstream</h2><div class="big" id="upstream">–</div><div class="muted" id="upstream-detail"></div></div>
            <div class="card"><h2>Last refusals</h2><ul class="pairs" id="refusals"></ul></div>
          </div>

          <h2>Sessions</h2>
          <p><input id="search" type="search" placeholder="search client id, username, subject, address, route, broker" size="60">
            <span class="muted" id="shown"></span></p>
          <table>
            <thead><tr><th>id</th><th>client id</th><th>username</th><th>subject</th><th>address</th><th>listener</th><th>route</th>
              <th>MQTT</th><th>broker</th><th>connected</th><th class="num">bytes in</th><th class="num">bytes out</th>
              <th class="num">packets in</th><th class="num">packets out</th><th></th></tr></thead>
            <tbody id="sessions"></tbody>
          </table>
        </main>
        <script src="/ops.js"></script>
        </body>
        </html>

        """#
}
