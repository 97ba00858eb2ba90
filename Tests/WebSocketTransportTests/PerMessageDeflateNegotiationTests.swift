import Testing

@testable import WebSocketTransport

/// RFC 7692 §7.1 negotiation, from the server's side.
@Suite struct PerMessageDeflateNegotiationTests {
    let settings = PerMessageDeflate.Settings(serverMaxWindowBits: 12, clientMaxWindowBits: 10)

    @Test func plainOfferIsAcceptedWithTheServersWindow() throws {
        let agreement = try #require(PerMessageDeflate.negotiate(offers: ["permessage-deflate"], settings: settings))
        #expect(agreement.serverMaxWindowBits == 12)
        #expect(agreement.clientMaxWindowBits == 15, "the client did not allow a limit, so it may use 15")
        #expect(agreement.responseHeaderValue == "permessage-deflate; server_max_window_bits=12")
    }

    @Test func clientWindowIsLimitedOnlyWhenTheClientAllowsIt() throws {
        let agreement = try #require(
            PerMessageDeflate.negotiate(offers: ["permessage-deflate; client_max_window_bits"], settings: settings))
        #expect(agreement.clientMaxWindowBits == 10)
        #expect(agreement.responseHeaderValue.contains("client_max_window_bits=10"))
        let smaller = try #require(
            PerMessageDeflate.negotiate(offers: ["permessage-deflate; client_max_window_bits=9"], settings: settings))
        #expect(smaller.clientMaxWindowBits == 9)
    }

    @Test func serverParametersRequestedByTheClientAreHonoured() throws {
        let agreement = try #require(
            PerMessageDeflate.negotiate(
                offers: ["permessage-deflate; server_no_context_takeover; server_max_window_bits=10"], settings: settings))
        #expect(agreement.serverNoContextTakeover)
        #expect(agreement.serverMaxWindowBits == 10)
        #expect(agreement.responseHeaderValue == "permessage-deflate; server_no_context_takeover; server_max_window_bits=10")
    }

    @Test(arguments: [
        "permessage-deflate; server_max_window_bits=8",  // zlib cannot
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; unknown_parameter",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; server_no_context_takeover=1",
        "x-webkit-deflate-frame",
    ])
    func unacceptableOffersAreDeclined(offer: String) {
        #expect(PerMessageDeflate.negotiate(offers: [offer], settings: settings) == nil)
    }

    @Test func theFirstAcceptableOfferWins() throws {
        let agreement = try #require(
            PerMessageDeflate.negotiate(
                offers: ["permessage-deflate; server_max_window_bits=8, permessage-deflate; client_max_window_bits", "permessage-deflate"],
                settings: settings))
        #expect(agreement.clientMaxWindowBits == 10)
    }

    @Test func quotedValuesAreAccepted() throws {
        let agreement = try #require(
            PerMessageDeflate.negotiate(offers: ["permessage-deflate; client_max_window_bits=\"11\""], settings: settings))
        #expect(agreement.clientMaxWindowBits == 10)
    }
}
