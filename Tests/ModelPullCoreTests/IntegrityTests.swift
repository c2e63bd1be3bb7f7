import Foundation
import TestSupport
import XCTest
@testable import ModelPullCore

final class IntegrityTests: XCTestCase {
    // MARK: Published vectors (FIPS 180-2 appendices / NIST CSRC examples)

    private static let abc448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
    private static let abc896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
        + "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"

    func testSHA256PublishedVectors() {
        assertSHA256PublishedVectors(SHA256.init)
        assertSHA256PublishedVectors(PortableSHA256.init)
    }

    private func assertSHA256PublishedVectors<H: IncrementalHasher>(
        _ make: () -> H, file: StaticString = #filePath, line: UInt = #line
    ) {
        func hash(_ data: Data) -> String {
            var hasher = make()
            hasher.update(data)
            return hasher.finalize().hex
        }
        let name = "\(H.self)"
        XCTAssertEqual(hash(Data()),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", name,
                       file: file, line: line)
        XCTAssertEqual(hash(Data("abc".utf8)),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", name,
                       file: file, line: line)
        XCTAssertEqual(hash(Data(Self.abc448.utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", name,
                       file: file, line: line)
        XCTAssertEqual(hash(Data(Self.abc896.utf8)),
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1", name,
                       file: file, line: line)
        let million = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        XCTAssertEqual(hash(Data(repeating: UInt8(ascii: "a"), count: 1_000_000)), million, name,
                       file: file, line: line)
        // The same million fed in uneven pieces, as a network stream would deliver it.
        var hasher = make()
        feedMillionA(into: &hasher)
        XCTAssertEqual(hasher.finalize().hex, million, name, file: file, line: line)
    }

    func testSHA1PublishedVectors() {
        XCTAssertEqual(SHA1.hash(Data()).hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        XCTAssertEqual(SHA1.hash(Data("abc".utf8)).hex, "a9993e364706816aba3e25717850c26c9cd0d89d")
        XCTAssertEqual(SHA1.hash(Data(Self.abc448.utf8)).hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        XCTAssertEqual(SHA1.hash(Data(Self.abc896.utf8)).hex, "a49b2446a02c645bf419f995b67091253a04a259")
        let million = "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        XCTAssertEqual(SHA1.hash(Data(repeating: UInt8(ascii: "a"), count: 1_000_000)).hex, million)
        var hasher = SHA1()
        feedMillionA(into: &hasher)
        XCTAssertEqual(hasher.finalize().hex, million)
    }

    private func feedMillionA<H: IncrementalHasher>(into hasher: inout H) {
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 997)  // prime: never block-aligned
        var left = 1_000_000
        while left > 0 {
            let n = min(left, chunk.count)
            chunk.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            left -= n
        }
    }

    // MARK: Incremental updates: every way of splitting must give the one-shot digest

    func testEverySplitPointMatchesOneShot() {
        var rng = SplitMix64(seed: 0x5eed)
        let bytes = rng.bytes(300)
        assertSplitsAgree(bytes, make: SHA256.init)
        assertSplitsAgree(bytes, make: PortableSHA256.init)
        assertSplitsAgree(bytes, make: SHA1.init)
        assertSplitsAgree(bytes, make: { GitBlobHasher(byteCount: bytes.count) })
    }

    /// Sizes around the padding boundaries (55 fits the length in one block, 56 does not) and
    /// the block size, split in three at every pair of points.
    func testThreeWaySplitsAroundBlockBoundaries() {
        var rng = SplitMix64(seed: 42)
        for size in [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129] {
            let bytes = rng.bytes(size)
            let expected256 = SHA256.hash(Data(bytes))
            let expected1 = SHA1.hash(Data(bytes))
            XCTAssertEqual(PortableSHA256.hash(Data(bytes)), expected256, "size \(size)")
            for i in 0...size {
                for j in i...size {
                    var h256 = SHA256(), portable = PortableSHA256(), h1 = SHA1()
                    for part in [bytes[..<i], bytes[i..<j], bytes[j...]] {
                        h256.update(Array(part))
                        portable.update(Array(part))
                        h1.update(Data(part))
                    }
                    XCTAssertEqual(h256.finalize(), expected256, "size \(size) split \(i)/\(j)")
                    XCTAssertEqual(portable.finalize(), expected256, "portable, size \(size) split \(i)/\(j)")
                    XCTAssertEqual(h1.finalize(), expected1, "size \(size) split \(i)/\(j)")
                }
            }
        }
    }

    func testByteAtATimeAndEmptyUpdates() {
        var rng = SplitMix64(seed: 7)
        let bytes = rng.bytes(200)
        var hasher = SHA256()
        var portable = PortableSHA256()
        for byte in bytes {
            hasher.update([])
            hasher.update([byte])
            portable.update([])
            portable.update([byte])
        }
        XCTAssertEqual(hasher.finalize(), SHA256.hash(Data(bytes)))
        XCTAssertEqual(portable.finalize(), SHA256.hash(Data(bytes)))
    }

    func testFinalizeResetsForReuse() {
        var hasher = SHA256()
        hasher.update(Data("something else".utf8))
        _ = hasher.finalize()
        hasher.update(Data("abc".utf8))
        XCTAssertEqual(hasher.finalize(), SHA256.hash(Data("abc".utf8)))

        var portable = PortableSHA256()
        portable.update(Data("something else".utf8))
        _ = portable.finalize()
        portable.update(Data("abc".utf8))
        XCTAssertEqual(portable.finalize(), SHA256.hash(Data("abc".utf8)))

        var blob = GitBlobHasher(byteCount: 3)
        blob.update(Data("abc".utf8))
        XCTAssertEqual(blob.bytesHashed, 3)
        let first = blob.finalize()
        XCTAssertEqual(blob.bytesHashed, 0)
        blob.update(Data("abc".utf8))
        XCTAssertEqual(blob.finalize(), first)
    }

    private func assertSplitsAgree<H: IncrementalHasher>(
        _ bytes: [UInt8], make: () -> H, file: StaticString = #filePath, line: UInt = #line
    ) {
        var whole = make()
        whole.update(bytes)
        let expected = whole.finalize()
        for split in 0...bytes.count {
            var hasher = make()
            bytes.withUnsafeBytes { raw in
                hasher.update(UnsafeRawBufferPointer(rebasing: raw[..<split]))
                hasher.update(UnsafeRawBufferPointer(rebasing: raw[split...]))
            }
            XCTAssertEqual(hasher.finalize(), expected, "\(H.self) split at \(split)", file: file, line: line)
        }
    }

    // MARK: Accelerated vs portable SHA-256

    /// Random lengths and every start offset within 16 bytes: the accelerated block functions
    /// load vectors from the caller's buffer, so misaligned input must hash the same, and runs
    /// of many blocks per call must chain correctly.
    func testAcceleratedAndPortableAgreeOnRandomInput() {
        var rng = SplitMix64(seed: 0xacce1)
        let bytes = rng.bytes(70_000)
        var sizes = Array(0...130) + [191, 192, 193, 1000, 4095, 4096, 4097, 65_536]
        for _ in 0..<20 { sizes.append(Int(rng.next() % 69_000)) }
        bytes.withUnsafeBytes { raw in
            for size in sizes {
                for offset in [0, 1, 3, 4, 7, 8, 15] where offset + size <= raw.count {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + size)])
                    var fast = SHA256(), portable = PortableSHA256()
                    fast.update(slice)
                    portable.update(slice)
                    XCTAssertEqual(fast.finalize(), portable.finalize(), "size \(size) at offset \(offset)")
                }
            }
        }
    }

    /// A CPU that advertises the SHA instructions must get the accelerated path: a detection bug
    /// would otherwise pass every digest test while silently running 3× slower.
    func testAcceleratedImplementationIsUsedWhereTheCPUHasIt() throws {
        let forced = ProcessInfo.processInfo.environment["MODELPULL_SHA256_PORTABLE"].map { !$0.isEmpty && $0 != "0" }
        if forced == true {
            XCTAssertEqual(SHA256.implementation, .portable)
            throw XCTSkip("MODELPULL_SHA256_PORTABLE is set: the portable path is forced")
        }
        #if os(macOS) && arch(arm64)
        XCTAssertEqual(SHA256.implementation, .armv8SHA2)
        #elseif os(Linux) && (arch(x86_64) || arch(arm64))
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else {
            throw XCTSkip("no /proc/cpuinfo")
        }
        // The first "flags" (x86) or "Features" (arm64) line; all cores report the same.
        let key = cpuinfoFeatureKey
        guard let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else {
            throw XCTSkip("no \(key) line in /proc/cpuinfo")
        }
        let features = Set(line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ":" }).map(String.init))
        #if arch(x86_64)
        let hasIt = features.isSuperset(of: ["sha_ni", "ssse3", "sse4_1"])
        XCTAssertEqual(SHA256.implementation, hasIt ? .x86SHANI : .portable, "flags: \(line)")
        #else
        XCTAssertEqual(SHA256.implementation, features.contains("sha2") ? .armv8SHA2 : .portable, "\(line)")
        #endif
        #else
        throw XCTSkip("no accelerated SHA-256 expected on this platform")
        #endif
    }

    func testPortableOverrideFromEnvironment() {
        XCTAssertEqual(SHA256Acceleration.choose(portableSetting: nil, detected: .x86SHANI), .x86SHANI)
        XCTAssertEqual(SHA256Acceleration.choose(portableSetting: "", detected: .armv8SHA2), .armv8SHA2)
        XCTAssertEqual(SHA256Acceleration.choose(portableSetting: "0", detected: .x86SHANI), .x86SHANI)
        XCTAssertEqual(SHA256Acceleration.choose(portableSetting: "1", detected: .x86SHANI), .portable)
        XCTAssertEqual(SHA256Acceleration.choose(portableSetting: "yes", detected: .armv8SHA2), .portable)
        XCTAssertEqual(SHA256Acceleration.choose(portableSetting: nil, detected: .portable), .portable)
    }

    // MARK: Digest

    func testDigestHexParsing() {
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        XCTAssertEqual(Digest(hex: hex), SHA256.hash(Data("abc".utf8)))
        XCTAssertEqual(Digest(hex: hex.uppercased()), SHA256.hash(Data("abc".utf8)))
        XCTAssertEqual(Digest(hex: "00fF10")?.bytes, [0x00, 0xff, 0x10])
        XCTAssertEqual(Digest(bytes: [0xab, 0x01]).description, "ab01")
        for bad in ["", "a", "abc", "zz", " ab", "ab ", "0xab", "sha256:ab", "éé"] {
            XCTAssertNil(Digest(hex: bad), bad)
        }
        XCTAssertNotEqual(Digest(hex: "abab"), Digest(hex: "ab"))
    }

    // MARK: Cross-checks against the system tools, through real processes

    private static let crossCheckSizes = [0, 1, 55, 56, 63, 64, 65, 1000, 4096, 3_000_017]

    func testMatchesSha256sumAndSha1sum() throws {
        let files = try writeRandomFiles(sizes: Self.crossCheckSizes)
        let sha256sum = try runTool("sha256sum", files.map(\.path))
        let sha1sum = try runTool("sha1sum", files.map(\.path))
        XCTAssertEqual(sha256sum.count, files.count)
        XCTAssertEqual(sha1sum.count, files.count)
        for (index, url) in files.enumerated() {
            let data = try Data(contentsOf: url)
            XCTAssertEqual(SHA256.hash(data).hex, sha256sum[index], "size \(data.count)")
            XCTAssertEqual(PortableSHA256.hash(data).hex, sha256sum[index], "portable, size \(data.count)")
            XCTAssertEqual(SHA1.hash(data).hex, sha1sum[index], "size \(data.count)")
            var fromFile = SHA256()
            try fromFile.update(contentsOf: url)
            XCTAssertEqual(fromFile.finalize().hex, sha256sum[index], "file read, size \(data.count)")
            var portableFromFile = PortableSHA256()
            try portableFromFile.update(contentsOf: url)
            XCTAssertEqual(portableFromFile.finalize().hex, sha256sum[index],
                           "portable file read, size \(data.count)")
        }
    }

    func testGitBlobHashMatchesGitHashObject() throws {
        var files = try writeRandomFiles(sizes: Self.crossCheckSizes)
        let dir = files[0].deletingLastPathComponent()
        for (name, text) in [("hello", "hello world\n"), ("readme", "# Model card\n\nlicense: mit\n")] {
            let url = dir.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            files.append(url)
        }
        let git = try runTool("git", ["hash-object"] + files.map(\.path))
        XCTAssertEqual(git.count, files.count)
        for (index, url) in files.enumerated() {
            let data = try Data(contentsOf: url)
            XCTAssertEqual(GitBlobHasher.hash(data).hex, git[index], "size \(data.count)")
            var streaming = GitBlobHasher(byteCount: data.count)
            try streaming.update(contentsOf: url)
            XCTAssertEqual(streaming.bytesHashed, data.count)
            XCTAssertEqual(streaming.finalize().hex, git[index], "streamed, size \(data.count)")
        }
        // The well-known id of the empty blob.
        XCTAssertEqual(GitBlobHasher.hash(Data()).hex, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")
    }

    /// Files named by index so the tools' output order matches; removed after the test.
    private func writeRandomFiles(sizes: [Int]) throws -> [URL] {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("modelpull-integrity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        var rng = SplitMix64(seed: 2024)
        return try sizes.enumerated().map { index, size in
            let url = dir.appendingPathComponent("f\(index)-\(size).bin")
            try Data(rng.bytes(size)).write(to: url)
            return url
        }
    }

    /// Runs `tool args...` via /usr/bin/env and returns the first field of each output line.
    /// Skips (not fails) when the tool is not installed; any other failure fails the test.
    private func runTool(_ tool: String, _ arguments: [String]) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw XCTSkip("cannot run /usr/bin/env \(tool): \(error)")
        }
        let output = stdout.fileHandleForReading.readDataToEndOfFile()  // before wait: no pipe stall
        process.waitUntilExit()
        if process.terminationStatus == 127 {
            throw XCTSkip("\(tool) is not installed")
        }
        XCTAssertEqual(process.terminationStatus, 0, "\(tool) exited with \(process.terminationStatus)")
        return String(decoding: output, as: UTF8.self)
            .split(separator: "\n")
            .map { String($0.prefix { $0 != " " }) }
    }
}

#if arch(x86_64)
private let cpuinfoFeatureKey = "flags"
#else
private let cpuinfoFeatureKey = "Features"
#endif

