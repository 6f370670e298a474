import Hummingbird

/// Refuses requests to a loopback-bound dashboard that name another host (403): a web page elsewhere
/// could otherwise point a name of its own at 127.0.0.1 (DNS rebinding) and read the study through the
/// user's browser. Allowed are requests whose authority (the Host header) is `localhost`, `127.0.0.1` or
/// `[::1]`, with any port, and requests without one (not a browser). Used only when the dashboard
/// listens on loopback; with `--host` set to another address every host name is accepted.
public struct LoopbackHostCheck<Context: RequestContext>: RouterMiddleware {
    public init() {}

    /// Whether `authority` (`host[:port]`, nil when absent) names this machine's loopback.
    public static func allows(_ authority: String?) -> Bool {
        guard let authority, !authority.isEmpty else { return true }
        var host = Substring(authority.lowercased())
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        return host == "localhost" || host == "127.0.0.1" || host == "::1"
    }

    public func handle(_ request: Request, context: Context,
                       next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.allows(request.head.authority) else {
            return Response(status: .forbidden, body: .init(byteBuffer: ByteBuffer(
                string: "this dashboard listens on loopback and answers requests for localhost only\n")))
        }
        return try await next(request, context)
    }
}

/// Whether `host` (a `--host` value) is a loopback address or name.
public func isLoopback(_ host: String) -> Bool {
    let h = host.lowercased()
    return h == "localhost" || h == "::1" || h == "[::1]" || h.hasPrefix("127.")
}
