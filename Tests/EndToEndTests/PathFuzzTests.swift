import Foundation
import TestSupport
import XCTest

/// Listing paths built from random Unicode, through the binary into a cache and a `localDir`:
/// combining marks after `/`, NFC/NFD twins, bidi controls, zero-width characters, `.`/`..` with
/// marks and invisibles, overlong names, reserved folders in mixed case. Whatever the names, a
/// download either is refused as unsafe, or completes with every file's bytes under its exact
/// byte name and nothing else, and nothing is ever written outside the destination.
///
/// The seed is printed with every failure; `MODELPULL_FUZZ_SEED=<n>` replays one run.
final class PathFuzzTests: HuggingFaceTestCase {
    func testRandomUnicodeNamesAreEitherRefusedOrDownloadedExactlyAndNeverEscape() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["MODELPULL_FUZZ_SEED"] ?? "") ?? 0x9A7F_2026
        var generator = FuzzNames(seed: seed)
        let area = root + "/area"
        try FileManager.default.createDirectory(atPath: area, withIntermediateDirectories: true)
        try Data("sentinel".utf8).write(to: URL(fileURLWithPath: area + "/sentinel.txt"))
        let isDestination = { (relative: String) in relative.utf8.starts(with: "area/dest-".utf8) }
        let before = FileTree(root, skipping: isDestination)
        let server = try launch()
        var outcomes: [String: Int] = [:]

        for round in 0..<40 {
            let paths = generator.repoPaths()
            let context = "seed \(seed) (MODELPULL_FUZZ_SEED=\(seed)), round \(round), paths \(paths.map(\.debugDescription))"
            let files = paths.enumerated().map { index, path -> FakeHubFile in
                let data = Data("round \(round) file \(index) \(path.utf8.count)".utf8)
                return index % 2 == 0 ? .regular(path, data) : .lfs(path, data)
            }
            let repo = "fuzz/r\(round)"
            let commit = fake.addRepo(repo, files: files)
            let destination = area + "/dest-\(round)"
            var statuses: [String] = []
            for (kind, request) in [("cache", params(repo, ["cacheDir": destination + "/hub"])),
                                    ("localDir", ["provider": "huggingface", "model": repo, "localDir": destination + "/local"])] {
                let id = round * 2 + (kind == "cache" ? 1 : 2)
                server.request(id, "models/download", request)
                let (notifications, response) = server.response(to: id, timeout: 60)
                let message = try XCTUnwrap(response, "no answer into the \(kind); \(context)")
                let status = message.error == nil ? "complete" : "error"
                statuses.append(status)
                ProgressRules.check(notifications, response: response, expectTerminal: status)
                let folder = kind == "cache" ? snapshot(in: destination + "/hub", repo, commit) : destination + "/local"
                if let error = message.error {
                    XCTAssertEqual(message.errorData?["kind"] as? String, "upstream", "\(kind): \(message.raw); \(context)")
                    XCTAssertTrue((error["message"] as? String ?? "").contains("Refusing unsafe"), "\(kind): \(message.raw); \(context)")
                    XCTAssertFalse(paths.allSatisfy(FuzzNames.isPlainlySafe), "a plainly safe listing was refused: \(message.raw); \(context)")
                    continue
                }
                let listed = Self.resultPaths(message.raw)
                XCTAssertEqual(Set(listed.map { Array($0.utf8) }), Set(paths.map { Array($0.utf8) }), "\(kind) result; \(context)")
                for path in paths {
                    XCTAssertTrue(FuzzNames.isPlainlySafe(path), "accepted \(path.debugDescription); \(context)")
                    let expected = files.first { $0.path.isByteEqual(to: path) }?.data
                    XCTAssertEqual(readExact(folder + "/" + path), expected, "\(kind): \(path.debugDescription); \(context)")
                }
                // Every file is where its name says and nowhere else (no `..` took one elsewhere
                // inside the destination either).
                let present = FileTree(folder) { $0.isByteEqual(to: ".cache/huggingface") || $0.utf8.starts(with: ".cache/huggingface/".utf8) }.nonFolders
                XCTAssertEqual(present, Set(paths.map { Array($0.utf8) }), "\(kind) holds exactly the listed files; \(context)")
            }
            XCTAssertEqual(Set(statuses).count, 1, "the cache and the local folder judged the names alike; \(context)")
            outcomes[statuses[0], default: 0] += 1
        }
        XCTAssertEqual(FileTree(root, skipping: isDestination), before, "something was written outside the destinations; seed \(seed)")
        for folder in [(root as NSString).deletingLastPathComponent, NSTemporaryDirectory()] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            XCTAssertFalse(names.contains { $0.contains(FuzzNames.marker) }, "a name escaped into \(folder); seed \(seed)")
        }
        XCTAssertGreaterThan(outcomes["complete"] ?? 0, 5, "the fuzz also exercises names that are accepted; \(outcomes)")
        XCTAssertGreaterThan(outcomes["error"] ?? 0, 5, "and names that are refused; \(outcomes)")
        server.request(999, "hello")
        XCTAssertNotNil(server.response(to: 999).response?.resultObject, "still serving")
    }

    /// The result's `files[].path`, decoded with JSONDecoder: JSONSerialization on Linux drops a
    /// leading U+FEFF from a string, which would hide whether ModelPull reported the exact name.
    private static func resultPaths(_ line: String) -> [String] {
        struct Response: Decodable {
            struct Result: Decodable { var files: [File] }
            struct File: Decodable { var path: String }
            var result: Result
        }
        return (try? JSONDecoder().decode(Response.self, from: Data(line.utf8)))?.result.files.map(\.path) ?? []
    }

    private func snapshot(in cacheDir: String, _ repo: String, _ commit: String) -> String {
        cacheDir + "/models--" + repo.replacingOccurrences(of: "/", with: "--") + "/snapshots/" + commit
    }
}

/// Random listing paths from pieces that have broken path handling somewhere.
struct FuzzNames {
    /// In every leaf, so an escaped file can be recognised anywhere.
    static let marker = "fz7q"

    private var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    private static let plain = ["a", "model.bin", "config.json", "日本語", "x y", "...", "-", "ü"]
    private static let marks = ["\u{301}", "\u{300}", "\u{20DD}", "\u{903}", "\u{302}\u{303}"]
    private static let invisibles = ["\u{200B}", "\u{200C}", "\u{200D}", "\u{FEFF}", "\u{202E}", "\u{2066}", "\u{061C}", "\u{00AD}"]
    private static let dots = [".", "..", ". ", ".\u{301}", "..\u{301}", "\u{301}..", ".\u{200B}.", "..\u{FEFF}"]
    private static let reserved = [".git", ".GIT", ".Git", ".gi\u{200C}t", ".cache", ".CACHE", ".Cach\u{200D}e"]
    private static let reservedSecond = ["huggingface", "HuggingFace", "HUGGINGFACE", "hugging\u{200B}face"]
    /// Canonically equivalent pairs: Swift's `==` merges each, the filesystem does not.
    private static let twins = [("caf\u{e9}", "cafe\u{301}"), ("\u{c5}", "A\u{30a}"), ("\u{1e9b}\u{323}", "\u{17f}\u{323}\u{307}"),
                                ("\u{212b}", "\u{c5}"), ("\u{f1}o", "n\u{303}o")]

    /// One to four distinct paths, none of which is a folder of another.
    mutating func repoPaths() -> [String] {
        var paths: [String] = []
        for _ in 0..<random.int(1...2) {
            let path = self.path()
            paths.append(path)
            if random.chance(0.3), let twin = Self.twin(of: path) { paths.append(twin) }
        }
        var kept: [String] = []
        for path in paths where !kept.contains(where: { Self.collide($0, path) }) { kept.append(path) }
        return kept
    }

    private mutating func path() -> String {
        var components: [String] = []
        if random.chance(0.12) {
            components = [random.pick(Self.reserved), random.pick(Self.reservedSecond)]
        }
        for _ in 0..<random.int(0...2) { components.append(component()) }
        components.append(component() + "-" + Self.marker)
        return components.joined(separator: "/")
    }

    private mutating func component() -> String {
        switch random.int(0...19) {
        case 0: return random.pick(Self.marks) + random.pick(Self.plain)
        case 1: return random.pick(Self.plain) + random.pick(Self.marks)
        case 2: return random.pick(Self.dots)
        case 3: return random.pick(Self.reserved)
        case 4: return random.pick(Self.invisibles) + random.pick(Self.plain)
        // Within NAME_MAX less the '.metadata' a localDir appends, or beyond NAME_MAX.
        case 5: return String(repeating: "é", count: random.chance(0.5) ? random.int(118...123) : random.int(128...131))
        case 6: return random.pick(Self.twins).0
        case 7: return random.pick(Self.twins).1
        case 8: return random.chance(0.5) ? "a\\b" : "a\u{1}b"
        // About half the time something ordinary, so that whole listings get accepted too.
        case 9...11: return random.pick(Self.plain) + random.pick(Self.invisibles) + random.pick(Self.plain)
        default: return random.pick(Self.plain)
        }
    }

    /// The same path with its first twin swapped for the other spelling, if it holds one.
    private static func twin(of path: String) -> String? {
        for (nfc, nfd) in twins {
            if let range = path.range(of: nfc, options: .literal) { return path.replacingCharacters(in: range, with: nfd) }
            if let range = path.range(of: nfd, options: .literal) { return path.replacingCharacters(in: range, with: nfc) }
        }
        return nil
    }

    /// Same bytes, or one is a folder of the other: the repo could not hold both.
    private static func collide(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        return x == y || y.starts(with: x + [0x2F]) || x.starts(with: y + [0x2F])
    }

    /// A deliberately simple, independent oracle: a path whose every byte-split component is an
    /// ordinary printable name of at most 255 bytes, with no mark first and nothing reserved.
    /// Refusing one of these is a bug; accepting anything else is a bug.
    static func isPlainlySafe(_ path: String) -> Bool {
        let components = Array(path.utf8).split(separator: 0x2F, omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        let folded = components.map { name -> String in
            String(String.UnicodeScalarView(name.unicodeScalars.filter { !$0.properties.isDefaultIgnorableCodePoint }))
                .decomposedStringWithCanonicalMapping.lowercased()
        }
        let reserved = folded.contains(".git") || folded[0] == ".cache" && (folded.count == 1 || folded[1] == "huggingface")
        return !reserved && components.indices.allSatisfy { index in
            let name = components[index]
            let first = name.unicodeScalars.first?.properties.generalCategory
            return !name.isEmpty && name.utf8.count <= 255 && ![".", ".."].contains(folded[index])
                && !name.utf8.contains { $0 < 0x20 || $0 == 0x7F || $0 == 0x5C }
                && ![.nonspacingMark, .spacingMark, .enclosingMark].contains(first)
        }
    }
}

