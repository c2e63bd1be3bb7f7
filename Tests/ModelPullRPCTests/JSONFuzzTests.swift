import XCTest
@testable import ModelPullRPC

/// SplitMix64: tiny, fast, and reproducible from a fixed seed, so a failure can be replayed.
struct FuzzSplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

final class JSONFuzzTests: XCTestCase {
    private static let seeds: [String] = [
        #"{"jsonrpc":"2.0","id":1,"method":"models.pull","params":{"source":"hf://org/repo","files":["a.safetensors"],"token":null}}"#,
        #"[1,-2.5e10,0,true,false,null,"\u00e9\ud83d\ude00\n",{"":[]}]"#,
        #"{"a":{"b":{"c":[[[["deep"]]]]}},"n":-0.000123,"big":123456789012345678901234567890}"#,
        "\"ünïcödé 日本語 😀\"",
    ]

    /// Whatever the input, parsing returns a value or an error, and any value it returns
    /// survives a write/parse round trip unchanged.
    private func check(_ input: [UInt8], parser: JSONParser = JSONParser()) -> Bool {
        guard let value = try? parser.parse(input) else { return false }
        let written = JSONWriter().encode(value)
        XCTAssertFalse(written.contains(UInt8(ascii: "\n")))
        XCTAssertEqual(try? JSONParser(maxDepth: .max).parse(written), value, "round trip of \(input)")
        return true
    }

    func testRandomBytesNeverCrash() {
        var random = FuzzSplitMix64(seed: 0x5EED_0001)
        // Bias toward JSON's own alphabet so inputs get past the first byte.
        let alphabet = Array(#"{}[],:"\/ -+.0123456789eEtrufalsn"#.utf8) + [0x00, 0x0A, 0x7F, 0x80, 0xBF, 0xC3, 0xE2, 0xED, 0xF0, 0xFF]
        var accepted = 0
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...64, using: &random)
            let useAlphabet = Bool.random(using: &random)
            let input = (0..<length).map { _ in
                useAlphabet ? alphabet.randomElement(using: &random)! : UInt8.random(in: 0...255, using: &random)
            }
            if check(input) { accepted += 1 }
        }
        XCTAssertGreaterThan(accepted, 0, "the fuzzer should produce some valid documents too")
    }

    func testMutatedDocumentsNeverCrash() {
        var random = FuzzSplitMix64(seed: 0x5EED_0002)
        let seeds = Self.seeds.map { Array($0.utf8) }
        for _ in 0..<20_000 {
            var input = seeds.randomElement(using: &random)!
            for _ in 0..<Int.random(in: 1...4, using: &random) where !input.isEmpty {
                let position = Int.random(in: 0..<input.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0: input[position] = UInt8.random(in: 0...255, using: &random)
                case 1: input.remove(at: position)
                case 2: input.insert(input[Int.random(in: 0..<input.count, using: &random)], at: position)
                default: input[position] ^= 1 << UInt8.random(in: 0..<8, using: &random)
                }
            }
            _ = check(input)
        }
    }

    func testEveryTruncationOfValidDocumentsIsRejectedCleanly() {
        for seed in Self.seeds {
            let bytes = Array(seed.utf8)
            XCTAssertTrue(check(bytes), seed)
            for cut in 0..<bytes.count {
                let prefix = Array(bytes[..<cut])
                // A prefix of a number ("12" of "123") can itself be valid; containers cannot.
                if check(prefix) { XCTAssertFalse(seed.hasPrefix("{") || seed.hasPrefix("["), "prefix \(cut) of \(seed)") }
            }
        }
    }

    func testRandomDeepNestingNeverCrashes() {
        var random = FuzzSplitMix64(seed: 0x5EED_0003)
        let openers = Array("[{\"k\":".utf8)
        for _ in 0..<200 {
            let depth = Int.random(in: 100...5_000, using: &random)
            var input: [UInt8] = []
            for _ in 0..<depth {
                if Bool.random(using: &random) { input.append(openers[0]) } else { input.append(contentsOf: openers[1...]) }
            }
            _ = check(input)
            _ = check(input, parser: JSONParser(maxDepth: depth + 1))
        }
    }
}
