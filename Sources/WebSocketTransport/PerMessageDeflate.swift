import TextTrimming

/// permessage-deflate (RFC 7692): negotiation of the extension's parameters.
///
/// The bridge is always the server: it picks the first offer it can honour and answers with the
/// parameters both sides then use. Windows are kept small by default: deflate state costs about
/// 2^(window bits + 2) + 2^(memory level + 9) bytes per connection, which matters at tens of
/// thousands of sessions. zlib cannot produce an 8-bit window, so offers that demand one are declined.
public enum PerMessageDeflate {
    /// What the server is willing to do (route configuration).
    public struct Settings: Sendable, Hashable {
        /// Largest LZ77 window the bridge compresses with (9–15).
        package var serverMaxWindowBits: Int
        /// Largest window the bridge asks clients to compress with (9–15), when the client lets it choose.
        package var clientMaxWindowBits: Int
        /// Start each outgoing message with an empty dictionary (less memory between messages, worse ratio).
        package var serverNoContextTakeover: Bool
        /// Ask clients to do the same, so the bridge's inflater holds no history between messages.
        package var clientNoContextTakeover: Bool
        /// zlib level 1 (fastest) … 9 (smallest).
        package var compressionLevel: Int
        /// zlib memory level 1 … 9 (2^(level + 9) bytes of compressor state).
        package var memoryLevel: Int
        /// Messages shorter than this are sent uncompressed (compression is per message, RSV1).
        package var threshold: Int

        public init(
            serverMaxWindowBits: Int = 12, clientMaxWindowBits: Int = 12, serverNoContextTakeover: Bool = false,
            clientNoContextTakeover: Bool = false, compressionLevel: Int = 6, memoryLevel: Int = 5, threshold: Int = 256
        ) {
            self.serverMaxWindowBits = serverMaxWindowBits
            self.clientMaxWindowBits = clientMaxWindowBits
            self.serverNoContextTakeover = serverNoContextTakeover
            self.clientNoContextTakeover = clientNoContextTakeover
            self.compressionLevel = compressionLevel
            self.memoryLevel = memoryLevel
            self.threshold = threshold
        }
    }

    /// The agreed parameters for one connection.
    public struct Agreement: Sendable, Hashable {
        public var serverMaxWindowBits: Int
        /// The window the client compresses with, so the size our inflater needs.
        public var clientMaxWindowBits: Int
        public var serverNoContextTakeover: Bool
        package var clientNoContextTakeover: Bool
        /// Whether the answer includes `client_max_window_bits` (only allowed when the client offered it).
        var answersClientWindow: Bool
        var answersServerWindow: Bool

        /// The `Sec-WebSocket-Extensions` value of the 101.
        public var responseHeaderValue: String {
            var parts = ["permessage-deflate"]
            if self.serverNoContextTakeover { parts.append("server_no_context_takeover") }
            if self.clientNoContextTakeover { parts.append("client_no_context_takeover") }
            if self.answersServerWindow { parts.append("server_max_window_bits=\(self.serverMaxWindowBits)") }
            if self.answersClientWindow { parts.append("client_max_window_bits=\(self.clientMaxWindowBits)") }
            return parts.joined(separator: "; ")
        }
    }

    /// Picks the first `permessage-deflate` offer in the client's `Sec-WebSocket-Extensions` header
    /// lines that can be honoured with `settings`; nil when there is none (the session is uncompressed).
    public static func negotiate(offers headerValues: [String], settings: Settings) -> Agreement? {
        for offer in Self.parseExtensions(headerValues) where offer.name == "permessage-deflate" {
            if let agreement = Self.accept(offer.parameters, settings: settings) { return agreement }
        }
        return nil
    }

    private static func accept(_ parameters: [(String, String?)], settings: Settings) -> Agreement? {
        var seen = Set<String>()
        var agreement = Agreement(
            serverMaxWindowBits: settings.serverMaxWindowBits, clientMaxWindowBits: 15,
            serverNoContextTakeover: settings.serverNoContextTakeover, clientNoContextTakeover: settings.clientNoContextTakeover,
            answersClientWindow: false, answersServerWindow: settings.serverMaxWindowBits < 15)
        for (name, value) in parameters {
            // RFC 7692 §7: an offer with a repeated or unknown parameter, or an invalid value, is declined.
            guard seen.insert(name).inserted else { return nil }
            switch name {
            case "server_no_context_takeover":
                guard value == nil else { return nil }
                agreement.serverNoContextTakeover = true
            case "client_no_context_takeover":
                guard value == nil else { return nil }
                agreement.clientNoContextTakeover = true
            case "server_max_window_bits":
                guard let value, let bits = Self.windowBits(value) else { return nil }
                // zlib's raw deflate cannot use an 8-bit window.
                guard bits >= 9 else { return nil }
                agreement.serverMaxWindowBits = min(bits, settings.serverMaxWindowBits)
                agreement.answersServerWindow = true
            case "client_max_window_bits":
                // Without a value the client only says it accepts a limit chosen by the server.
                var limit = 15
                if let value {
                    guard let bits = Self.windowBits(value) else { return nil }
                    limit = bits
                }
                agreement.clientMaxWindowBits = min(limit, max(settings.clientMaxWindowBits, 9))
                agreement.answersClientWindow = true
            default:
                return nil
            }
        }
        return agreement
    }

    private static func windowBits(_ text: String) -> Int? {
        guard text.count <= 2, let bits = Int(text), (8...15).contains(bits), !text.hasPrefix("0") else { return nil }
        return bits
    }

    /// `name; a; b=1, other` → [(name, [(a, nil), (b, "1")]), (other, [])]; quoted values unquoted.
    static func parseExtensions(_ headerValues: [String]) -> [(name: String, parameters: [(String, String?)])] {
        WebSocketHandshake.tokens(in: headerValues).compactMap { item in
            let pieces = item.split(separator: ";").map { String($0.trimmingASCIIWhitespace()) }
            guard let name = pieces.first?.lowercased(), !name.isEmpty else { return nil }
            let parameters: [(String, String?)] = pieces.dropFirst().map { piece in
                guard let equals = piece.firstIndex(of: "=") else { return (piece.lowercased(), nil) }
                var value = String(piece[piece.index(after: equals)...].trimmingASCIIWhitespace())
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
                return (piece[..<equals].trimmingASCIIWhitespace().lowercased(), value)
            }
            return (name, parameters)
        }
    }
}
