import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import BridgeAdmin

/// `ChunkedBodyLimit` in front of NIOHTTP1's decoder, on an EmbeddedChannel: the announced chunk sizes of each body
/// are added up; over the limit the request gets an error, in order, and nothing more reaches the decoder.
@Suite("Admin listener: chunked bodies announced too large")
struct AdminChunkedBodyTests {
    func makeChannel(limit: Int = 1024) throws -> (EmbeddedChannel, ChunkedBodyLimit.Announcement) {
        let announcement = ChunkedBodyLimit.Announcement()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ChunkedBodyLimit(limit: limit, announcement: announcement))
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
        return (channel, announcement)
    }

    /// Feeds `text` and returns the request parts decoded, and whether the limit's error was raised.
    func feed(_ channel: EmbeddedChannel, _ text: String) throws -> (parts: [String], refused: Bool) {
        var refused = false
        do {
            try channel.writeInbound(ByteBuffer(string: text))
        } catch HTTPParserError.invalidChunkSize {
            refused = true
        }
        var parts: [String] = []
        while let part = try channel.readInbound(as: HTTPServerRequestPart.self) {
            switch part {
            case .head(let head): parts.append("head \(head.uri)")
            case .body(let body): parts.append("body \(body.readableBytes)")
            case .end: parts.append("end")
            }
        }
        return (parts, refused)
    }

    static let chunkedHead = "POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"

    @Test("a chunk announcing more than the limit is refused before its data; the pipelined request before it is whole")
    func oversizedChunk() throws {
        let (channel, announcement) = try makeChannel()
        let (parts, refused) = try feed(channel, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + Self.chunkedHead + "40000000\r\n{\"topic\"")
        #expect(refused)
        #expect(announcement.isTooLarge)
        #expect(parts == ["head /healthz", "end", "head /api/v1/publish"])
        // Whatever the client sends next goes nowhere.
        #expect(try feed(channel, String(repeating: "x", count: 4096)).parts.isEmpty)
    }

    @Test("small chunks that add up to more than the limit are refused at the chunk that crosses it")
    func cumulative() throws {
        let (channel, _) = try makeChannel()
        let chunk = "200\r\n" + String(repeating: "a", count: 512) + "\r\n"
        let (parts, refused) = try feed(channel, Self.chunkedHead + chunk + chunk + "1\r\n")
        #expect(refused)
        #expect(parts == ["head /api/v1/publish", "body 512", "body 512"])
    }

    @Test("within the limit nothing changes: chunks, extensions, trailers, then the next request (counted afresh)")
    func withinLimit() throws {
        let (channel, announcement) = try makeChannel()
        let body = "200;ext=1\r\n" + String(repeating: "a", count: 512) + "\r\n0\r\nX-Trailer: 1\r\n\r\n"
        let (parts, refused) = try feed(channel, Self.chunkedHead + body + Self.chunkedHead + body)
        #expect(!refused)
        #expect(!announcement.isTooLarge)
        #expect(parts == ["head /api/v1/publish", "body 512", "end", "head /api/v1/publish", "body 512", "end"])
    }

    @Test("a Content-Length body that looks like a chunk header is data, not framing; split reads are followed")
    func fixedLengthAndSplitReads() throws {
        let (channel, _) = try makeChannel()
        let fake = "40000000\r\n"
        var parts = try feed(channel, "POST /api/v1/publish HTTP/1.1\r\nHost: x\r\nContent-Length: \(fake.utf8.count)\r\n\r\n" + fake)
        #expect(!parts.refused)
        #expect(parts.parts == ["head /api/v1/publish", "body \(fake.utf8.count)", "end"])
        // The same oversized announcement, one byte per read.
        var refused = false
        for character in Self.chunkedHead + "4000000" + "0\r\n" {
            parts = try feed(channel, String(character))
            refused = refused || parts.refused
        }
        #expect(refused)
    }
}
