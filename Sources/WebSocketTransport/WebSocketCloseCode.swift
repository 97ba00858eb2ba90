/// A WebSocket close status code (RFC 6455 §7.4).
public struct WebSocketCloseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    package static let normalClosure = WebSocketCloseCode(rawValue: 1000)
    package static let goingAway = WebSocketCloseCode(rawValue: 1001)
    public static let protocolError = WebSocketCloseCode(rawValue: 1002)
    public static let unsupportedData = WebSocketCloseCode(rawValue: 1003)
    /// Never sent on the wire: "the close frame carried no code".
    package static let noStatusReceived = WebSocketCloseCode(rawValue: 1005)
    /// Never sent on the wire: "the connection ended without a close frame".
    package static let abnormalClosure = WebSocketCloseCode(rawValue: 1006)
    public static let invalidPayloadData = WebSocketCloseCode(rawValue: 1007)
    package static let policyViolation = WebSocketCloseCode(rawValue: 1008)
    public static let messageTooBig = WebSocketCloseCode(rawValue: 1009)
    package static let mandatoryExtension = WebSocketCloseCode(rawValue: 1010)
    package static let internalError = WebSocketCloseCode(rawValue: 1011)
    package static let tryAgainLater = WebSocketCloseCode(rawValue: 1013)

    /// Whether a peer may send this code in a close frame (RFC 6455 §7.4.1–7.4.2, IANA registry):
    /// 1000–1003, 1007–1014 and the application ranges 3000–4999.
    package var isValidOnTheWire: Bool {
        switch rawValue {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .normalClosure: "1000 normal closure"
        case .goingAway: "1001 going away"
        case .protocolError: "1002 protocol error"
        case .unsupportedData: "1003 unsupported data"
        case .noStatusReceived: "1005 no status"
        case .abnormalClosure: "1006 abnormal closure"
        case .invalidPayloadData: "1007 invalid payload data"
        case .policyViolation: "1008 policy violation"
        case .messageTooBig: "1009 message too big"
        case .mandatoryExtension: "1010 mandatory extension"
        case .internalError: "1011 internal error"
        case .tryAgainLater: "1013 try again later"
        default: "\(rawValue)"
        }
    }
}
