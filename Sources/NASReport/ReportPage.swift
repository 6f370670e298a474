import Foundation

/// One HTML page of views: a title, a navigation bar, sections, and the style sheet and script every
/// page carries inline (no network, no CDN; its content security policy allows nothing else, and on the
/// dashboard requests to its own server only). The plots are inline SVG and readable without JavaScript;
/// the script adds clicking a point or row to show its architecture (copyable as an architecture file),
/// sorting tables by a column, and — on the live dashboard only — the refresh.
public struct ReportPage: Sendable {
    /// One section of the page: an id (its anchor), a heading and its HTML.
    public struct Section: Sendable {
        public var id: String
        public var heading: String
        public var html: String
        public init(id: String, heading: String, html: String) { self.id = id; self.heading = heading; self.html = html }
    }

    /// How a live page refreshes: it asks `versionURL` every `seconds` and, when the answer changes,
    /// reloads its `<main>` from its own address.
    public struct Refresh: Sendable {
        public var versionURL: String
        public var seconds: Double
        public init(versionURL: String, seconds: Double = 2) { self.versionURL = versionURL; self.seconds = seconds }
    }

    public var title: String
    public var subtitle: String
    public var sections: [Section]
    /// Links shown above the sections (href, text); the dashboard's views.
    public var navigation: [(href: String, text: String)]
    public var refresh: Refresh?
    /// The base of the JSON API the script may ask for an architecture not on the page (dashboard only).
    public var apiBase: String?

    public init(title: String, subtitle: String = "", sections: [Section], navigation: [(href: String, text: String)] = [],
                refresh: Refresh? = nil, apiBase: String? = nil) {
        self.title = title; self.subtitle = subtitle; self.sections = sections; self.navigation = navigation
        self.refresh = refresh; self.apiBase = apiBase
    }

    /// The whole document.
    public func html() -> String {
        var s = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light dark">
        <link rel="icon" href="data:,">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'">
        <title>\(HTML.escape(title))</title>
        <style>\(ReportStyle.css)</style>
        </head>
        <body
        """
        if let refresh {
            s += " data-version-url=\"\(HTML.escape(refresh.versionURL))\" data-refresh-seconds=\"\(refresh.seconds)\""
        }
        if let apiBase { s += " data-api=\"\(HTML.escape(apiBase))\"" }
        s += ">\n<header><h1>\(HTML.escape(title))</h1>"
        if !subtitle.isEmpty { s += "<p class=\"subtitle\">\(HTML.escape(subtitle))</p>" }
        if !navigation.isEmpty {
            s += "<nav>" + navigation.map { "<a href=\"\(HTML.escape($0.href))\">\(HTML.escape($0.text))</a>" }.joined(separator: " · ") + "</nav>"
        }
        s += "</header>\n<main>\n"
        if sections.count > 1 {
            s += "<p class=\"toc\">" + sections.map { "<a href=\"#\(HTML.escape($0.id))\">\(HTML.escape($0.heading))</a>" }
                .joined(separator: " · ") + "</p>\n"
        }
        for section in sections {
            s += "<section id=\"\(HTML.escape(section.id))\"><h2>\(HTML.escape(section.heading))</h2>\n\(section.html)\n</section>\n"
        }
        s += "</main>\n"
        s += "<aside id=\"inspector\" hidden><button type=\"button\" class=\"close\" aria-label=\"close\">×</button>"
            + "<h3></h3><pre></pre><button type=\"button\" class=\"copy\">Copy architecture JSON</button></aside>\n"
        s += "<footer>SwiftNAS</footer>\n"
        s += "<script>\(ReportStyle.script)</script>\n</body>\n</html>\n"
        return s
    }

    /// A page that only says what went wrong (e.g. a study that cannot be opened).
    public static func error(title: String, message: String, navigation: [(href: String, text: String)] = []) -> ReportPage {
        ReportPage(title: title, sections: [Section(id: "error", heading: "Error",
                                                    html: "<p class=\"error\">\(HTML.escape(message))</p>")],
                   navigation: navigation)
    }
}
