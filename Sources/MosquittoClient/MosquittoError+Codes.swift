import CMosquitto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Translation of libmosquitto's numbers into `MosquittoError`s. The same `MOSQ_ERR_*` means different things at
/// different moments (an `errno` while dialling is "unreachable", after CONNACK it is "connection lost"), so each
/// moment has its own factory.
extension MosquittoError {
    /// libmosquitto's text for a `MOSQ_ERR_*` value; for `MOSQ_ERR_ERRNO` the OS's text for `savedErrno`
    /// (libmosquitto would read the *current* `errno`, which may have changed since).
    static func libraryText(_ code: Int32, savedErrno: Int32) -> String {
        if code == MosquittoCode.errno {
            return String(cString: strerror(savedErrno))
        }
        return String(cString: mosquitto_strerror(code))
    }

    /// `mosquitto_connect*_async` failed before anything was sent (DNS, socket, immediate TCP refusal, bad options).
    static func connectCallFailed(_ code: Int32, savedErrno: Int32, detail: String?) -> MosquittoError {
        let kind: Kind =
            switch code {
            case MosquittoCode.errno, MosquittoCode.eai, MosquittoCode.lookup: .unreachable
            case MosquittoCode.tls, MosquittoCode.tlsHandshake, MosquittoCode.ocsp: .tls
            case MosquittoCode.inval: .invalidConfiguration
            default: .protocolError
            }
        return MosquittoError(
            kind: kind, reason: withDetail(libraryText(code, savedErrno: savedErrno), detail), mosquittoCode: code)
    }

    /// The socket closed before a CONNACK arrived. `code` is the `on_disconnect` value: a `MOSQ_ERR_*`, or (≥ 0x80)
    /// the reason code of an MQTT 5 DISCONNECT sent by the broker.
    static func closedBeforeConnack(_ code: Int32, savedErrno: Int32, detail: String?) -> MosquittoError {
        if code >= 0x80 {
            return MosquittoError(
                kind: .refused, reason: String(cString: mosquitto_reason_string(code)), reasonCode: code)
        }
        let kind: Kind =
            switch code {
            case MosquittoCode.errno, MosquittoCode.eai, MosquittoCode.lookup: .unreachable
            case MosquittoCode.tls, MosquittoCode.tlsHandshake, MosquittoCode.ocsp: .tls
            case MosquittoCode.connLost: .connectionLost
            default: .protocolError
            }
        var text = libraryText(code, savedErrno: savedErrno)
        if code == MosquittoCode.connLost {
            text = "the broker closed the connection before CONNACK (\(text))"
        }
        return MosquittoError(kind: kind, reason: withDetail(text, detail), mosquittoCode: code)
    }

    /// An established connection closed without our asking (broker gone, keep-alive timeout, MQTT 5 DISCONNECT).
    static func closedAfterConnack(_ code: Int32, savedErrno: Int32, detail: String?) -> MosquittoError {
        if code >= 0x80 {
            return MosquittoError(
                kind: .connectionLost,
                reason: "the broker disconnected: \(String(cString: mosquitto_reason_string(code)))", reasonCode: code)
        }
        return MosquittoError(
            kind: .connectionLost, reason: withDetail(libraryText(code, savedErrno: savedErrno), detail),
            mosquittoCode: code)
    }

    /// libmosquitto logged an error while connecting (its thread ends without a callback, e.g. a failed handshake).
    static func loggedWhileConnecting(_ message: String) -> MosquittoError {
        let isTLS = ["SSL", "TLS", "certificate"].contains { message.contains($0) }
        return MosquittoError(kind: isTLS ? .tls : .protocolError, reason: message)
    }

    /// A refused CONNACK. `code` is a CONNACK return code for MQTT 3.1.1 and a reason code for MQTT 5.
    static func connackRefused(_ code: Int32, protocolVersion: MosquittoConnectionOptions.ProtocolVersion) -> MosquittoError {
        switch protocolVersion {
        case .v3_1_1:
            // 4 = bad user name or password, 5 = not authorised.
            let kind: Kind = (code == 4 || code == 5) ? .notAuthorized : .refused
            return MosquittoError(kind: kind, reason: String(cString: mosquitto_connack_string(code)), reasonCode: code)
        case .v5:
            // 0x86 bad user name or password, 0x87 not authorized, 0x8C bad authentication method.
            let kind: Kind = (code == 0x86 || code == 0x87 || code == 0x8C) ? .notAuthorized : .refused
            return MosquittoError(kind: kind, reason: String(cString: mosquitto_reason_string(code)), reasonCode: code)
        }
    }

    /// An MQTT 5 PUBACK or PUBREC with a failure reason code (≥ 0x80).
    static func publishRefused(_ code: Int32) -> MosquittoError {
        MosquittoError(
            kind: code == 0x87 ? .notAuthorized : .rejected,
            reason: "the broker refused the message: \(String(cString: mosquitto_reason_string(code)))",
            reasonCode: code)
    }

    /// `mosquitto_publish_v5` returned an error: nothing was sent.
    static func publishCallFailed(_ code: Int32, savedErrno: Int32) -> MosquittoError {
        let kind: Kind =
            switch code {
            case MosquittoCode.noConn: .unavailable
            case MosquittoCode.inval, MosquittoCode.payloadSize, MosquittoCode.oversizePacket,
                MosquittoCode.qosNotSupported, MosquittoCode.retainNotSupported, MosquittoCode.malformedUTF8,
                MosquittoCode.duplicateProperty, MosquittoCode.protocolError:
                .invalidMessage
            default: .protocolError
            }
        return MosquittoError(kind: kind, reason: libraryText(code, savedErrno: savedErrno), mosquittoCode: code)
    }

    /// A setter for an option failed (`mosquitto_username_pw_set`, `mosquitto_tls_set`, …).
    static func optionRejected(_ what: String, _ code: Int32, savedErrno: Int32) -> MosquittoError {
        MosquittoError(
            kind: .invalidConfiguration, reason: "\(what): \(libraryText(code, savedErrno: savedErrno))",
            mosquittoCode: code)
    }

    private static func withDetail(_ text: String, _ detail: String?) -> String {
        guard let detail, !detail.isEmpty else { return text }
        return "\(text) (\(detail))"
    }
}

/// The `MOSQ_ERR_*` values as plain `Int32`s (the C enum imports as a struct, the API passes `int`).
enum MosquittoCode {
    static let success = Int32(MOSQ_ERR_SUCCESS.rawValue)
    static let inval = Int32(MOSQ_ERR_INVAL.rawValue)
    static let noConn = Int32(MOSQ_ERR_NO_CONN.rawValue)
    static let protocolError = Int32(MOSQ_ERR_PROTOCOL.rawValue)
    static let connLost = Int32(MOSQ_ERR_CONN_LOST.rawValue)
    static let tls = Int32(MOSQ_ERR_TLS.rawValue)
    static let payloadSize = Int32(MOSQ_ERR_PAYLOAD_SIZE.rawValue)
    static let errno = Int32(MOSQ_ERR_ERRNO.rawValue)
    static let eai = Int32(MOSQ_ERR_EAI.rawValue)
    static let malformedUTF8 = Int32(MOSQ_ERR_MALFORMED_UTF8.rawValue)
    static let lookup = Int32(MOSQ_ERR_LOOKUP.rawValue)
    static let duplicateProperty = Int32(MOSQ_ERR_DUPLICATE_PROPERTY.rawValue)
    static let tlsHandshake = Int32(MOSQ_ERR_TLS_HANDSHAKE.rawValue)
    static let qosNotSupported = Int32(MOSQ_ERR_QOS_NOT_SUPPORTED.rawValue)
    static let oversizePacket = Int32(MOSQ_ERR_OVERSIZE_PACKET.rawValue)
    static let ocsp = Int32(MOSQ_ERR_OCSP.rawValue)
    static let retainNotSupported = Int32(MOSQ_ERR_RETAIN_NOT_SUPPORTED.rawValue)
}
