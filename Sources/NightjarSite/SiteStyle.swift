import NightjarCrypto

/// The site's one style sheet, served as a file (the Content-Security-Policy allows no inline style).
enum SiteStyle {
    static let css = """
        :root { --ink: #1d2330; --muted: #5b6475; --line: #d9dde5; --panel: #f1f3f7; --accent: #1f4fa3; --bad: #8a1c17; --bad-bg: #fde2e1;
                --ok: #155b2b; --ok-bg: #dff3e4; --warn: #7a5200; --warn-bg: #fff1cc; }
        * { box-sizing: border-box; }
        body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); margin: 0; background: #fff; }
        a { color: var(--accent); }
        header.bar { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.2rem; background: var(--ink); color: #fff; flex-wrap: wrap; }
        header.bar a { color: #fff; text-decoration: none; } header.bar a.brand { font-weight: 700; letter-spacing: .02em; }
        header.bar nav { display: flex; gap: 1rem; flex: 1; } header.bar nav a[aria-current] { text-decoration: underline; }
        header.bar form { display: flex; gap: .6rem; align-items: center; margin: 0; }
        header.bar button { background: transparent; color: #fff; border: 1px solid #8a93a6; border-radius: .3rem; padding: .15rem .6rem; cursor: pointer; }
        main { max-width: 80rem; margin: 1.2rem auto 3rem; padding: 0 1.2rem; }
        h1 { font-size: 1.5rem; margin: .2rem 0 .6rem; } h2 { font-size: 1.2rem; margin: 1.6rem 0 .5rem; border-bottom: 2px solid var(--ink); padding-bottom: .15rem; }
        h3 { font-size: 1.02rem; margin: 1.1rem 0 .4rem; }
        .muted { color: var(--muted); }
        table { border-collapse: collapse; width: 100%; margin: .3rem 0 1rem; font-variant-numeric: tabular-nums; }
        th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { background: var(--panel); font-weight: 600; } th a { color: var(--ink); } td.num, th.num { text-align: right; white-space: nowrap; } td a { white-space: nowrap; }
        .pill { display: inline-block; padding: 0 .45rem; border-radius: .6rem; font-size: .85em; background: #e7eaf0; white-space: nowrap; }
        .bad { background: var(--bad-bg); color: var(--bad); } .ok { background: var(--ok-bg); color: var(--ok); } .warn { background: var(--warn-bg); color: var(--warn); }
        .notice { padding: .6rem .9rem; border-radius: .4rem; margin: .6rem 0 1rem; background: var(--ok-bg); color: var(--ok); }
        .notice.error { background: var(--bad-bg); color: var(--bad); } .notice.warn { background: var(--warn-bg); color: var(--warn); }
        .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(22rem, 1fr)); gap: 1rem; }
        .card { border: 1px solid var(--line); border-radius: .5rem; padding: .8rem 1rem; }
        .card h2 { border: 0; margin: 0 0 .4rem; }
        .summary { display: flex; gap: .8rem; flex-wrap: wrap; margin: .4rem 0 .8rem; }
        .summary div { background: var(--panel); border-radius: .4rem; padding: .4rem .7rem; } .summary b { display: block; font-size: 1.1rem; }
        dl.header { display: grid; grid-template-columns: max-content 1fr max-content 1fr; gap: .2rem 1rem; margin: .4rem 0 1rem; }
        dl.header dt { color: var(--muted); } dl.header dd { margin: 0; }
        form.inline { display: inline; margin: 0; }
        form.filters, form.action { display: flex; gap: .6rem; align-items: end; flex-wrap: wrap; background: var(--panel); padding: .6rem .8rem; border-radius: .4rem; margin: .4rem 0 1rem; }
        form.action { display: block; } form.action p { margin: .3rem 0; }
        label { display: inline-flex; flex-direction: column; gap: .15rem; font-size: .9em; color: var(--muted); }
        label.check { flex-direction: row; align-items: center; gap: .35rem; color: var(--ink); }
        input, select, textarea, button { font: inherit; }
        input[type=text], input[type=password], input[type=search], select, textarea { padding: .3rem .45rem; border: 1px solid #b9c0cc; border-radius: .3rem; background: #fff; color: var(--ink); }
        textarea { width: 100%; min-height: 3rem; }
        button { padding: .3rem .8rem; border-radius: .3rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
        button.quiet { background: #fff; color: var(--accent); padding: .1rem .5rem; }
        button.danger { background: var(--bad); border-color: var(--bad); }
        ul.plain { list-style: none; padding: 0; margin: 0; } ul.plain li { margin: .15rem 0; }
        .signin { max-width: 24rem; margin: 4rem auto; border: 1px solid var(--line); border-radius: .6rem; padding: 1.2rem 1.4rem; }
        .signin form { display: flex; flex-direction: column; gap: .7rem; } .signin label { color: var(--ink); }
        nav.pages { display: flex; gap: 1rem; align-items: center; margin: .5rem 0 1rem; }
        @media print { header.bar, form, nav.pages { display: none; } main { max-width: none; margin: 0; } }
        """

    /// The site's icon (so browsers do not ask for a missing /favicon.ico).
    static let icon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1d2330"/>\
        <path d="M6 20c5-9 15-9 20 0-6-4-14-4-20 0z" fill="#fff"/></svg>
        """

    /// A short digest of the sheet, in its address so a new version is never served from a cache.
    static let version: String = String(SHA256.hash(Array(css.utf8)).hexString.prefix(12))

    static var path: String { "/static/site-\(version).css" }
}
