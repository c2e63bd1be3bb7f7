import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A place below a trusted root, reached without following symbolic links.
///
/// The root is what the user chose (a `cacheDir`, a `localDir`) and may itself be a link. Below
/// it lives data that other processes may write too (a shared, group-writable cache), where a
/// planted link `sub -> /elsewhere` would carry every write, rename and delete out of the
/// destination. So every folder below the root is opened with `O_NOFOLLOW | O_DIRECTORY`, and
/// the final step works on the parent's descriptor (`openat`, `renameat`, `symlinkat`,
/// `unlinkat`): the folder that was checked is the folder that is written, with no window in
/// which a link could be swapped in.
///
///     let place = ConfinedPath(root: localDir, relative: "sub/model.bin")
///     let folder = try place.openParent(create: true)   // refuses if `sub` is a link
///     try partial.commit(into: folder, as: place.name)  // renameat on folder's descriptor
public struct ConfinedPath: Sendable, CustomStringConvertible {
    public let root: String
    /// `/`-separated below `root`; built by ModelPull or checked by `SafePath`.
    public let relative: String

    public init(root: String, relative: String) {
        self.root = root
        self.relative = relative
    }

    public var path: String { relative.isEmpty ? root : (root as NSString).appendingPathComponent(relative) }
    public var description: String { path }

    /// The last component (the name inside `openParent`'s folder).
    public var name: String { String(decoding: components.last ?? [], as: UTF8.self) }

    /// The folder holding this entry, as a confined place of its own.
    public var parent: ConfinedPath {
        ConfinedPath(root: root, relative: components.dropLast().map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/"))
    }

    public func appending(_ more: String) -> ConfinedPath {
        ConfinedPath(root: root, relative: relative.isEmpty ? more : relative + "/" + more)
    }

    /// Opens the folder holding this entry; with `create`, makes the missing folders on the way.
    public func openParent(create: Bool) throws(DownloadFailure) -> ConfinedDirectory {
        try ConfinedDirectory.open(parent, create: create)
    }

    /// Opens this place as a folder.
    public func openDirectory(create: Bool) throws(DownloadFailure) -> ConfinedDirectory {
        try ConfinedDirectory.open(self, create: create)
    }

    /// Split on the byte `/`, never on grapheme clusters (see `SafePath`).
    var components: [ArraySlice<UInt8>] {
        Array(relative.utf8).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
    }

    /// The size of the regular file here, without following a link anywhere below the root;
    /// nil when it is missing, not a regular file, or reached through a link.
    public func regularFileSize() -> Int64? {
        guard let folder = try? openParent(create: false) else { return nil }
        return folder.regularFileSize(name)
    }
}

/// An open folder reached by `ConfinedPath`; every operation names an entry directly inside it
/// and never follows a link at that entry.
public final class ConfinedDirectory: @unchecked Sendable {
    public let descriptor: Int32
    /// For messages and for code that needs a path (already checked to be link-free).
    public let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { _ = systemClose(descriptor) }

    static func open(_ place: ConfinedPath, create: Bool) throws(DownloadFailure) -> ConfinedDirectory {
        if create { try createRoot(place.root) }
        var current = systemOpen(place.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard current >= 0 else { throw StorageFailure.from(errno: errno, doing: "open the folder", path: place.root) }
        var reached = place.root
        for component in place.components {
            let name = String(decoding: component, as: UTF8.self)
            reached = (reached as NSString).appendingPathComponent(name)
            var next = openat(current, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0, errno == ENOENT, create {
                if mkdirat(current, name, 0o777) != 0, errno != EEXIST {
                    let failure = StorageFailure.from(errno: errno, doing: "create the folder", path: reached)
                    _ = systemClose(current)
                    throw failure
                }
                next = openat(current, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            let code = errno
            _ = systemClose(current)
            guard next >= 0 else {
                if code == ELOOP || code == ENOTDIR { throw NoFollow.refusal(reached, root: place.root) }
                throw StorageFailure.from(errno: code, doing: "open the folder", path: reached)
            }
            current = next
        }
        return ConfinedDirectory(descriptor: current, path: reached)
    }

    /// The root is the user's choice: made with its parents, and followed if it is a link.
    private static func createRoot(_ root: String) throws(DownloadFailure) {
        try Filesystem.createDirectory(root)
    }

    func child(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    // MARK: Entries

    /// Opens (with `O_NOFOLLOW`) the entry `name`: a link there is refused, never followed.
    public func openFile(_ name: String, flags: Int32, mode: mode_t = 0o644, doing action: String = "open") throws(DownloadFailure) -> Int32 {
        let fd = openat(descriptor, name, flags | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else {
            if errno == ELOOP { throw NoFollow.refusal(child(name), root: path) }
            throw StorageFailure.from(errno: errno, doing: action, path: child(name))
        }
        return fd
    }

    /// `lstat` of the entry: the link itself when it is one.
    public func status(_ name: String) -> stat? {
        var info = stat()
        return fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 ? info : nil
    }

    public func regularFileSize(_ name: String) -> Int64? {
        guard let info = status(name), (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(info.st_size)
    }

    public func exists(_ name: String) -> Bool { status(name) != nil }

    /// Where the link `name` points, or nil when it is not a link.
    public func linkTarget(_ name: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlinkat(descriptor, name, &buffer, buffer.count - 1)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func makeSymlink(_ name: String, pointingTo target: String) throws(DownloadFailure) {
        let code = trySymlink(name, pointingTo: target)
        guard code == 0 else { throw StorageFailure.from(errno: code, doing: "create the link", path: child(name)) }
    }

    /// Makes the link; 0, or the `errno` that refused it (a filesystem without links says EPERM).
    public func trySymlink(_ name: String, pointingTo target: String) -> Int32 {
        symlinkat(target, descriptor, name) == 0 ? 0 : errno
    }

    /// Copies the regular file `name` of `source` (opened without following a link) to a new
    /// file `temporaryName` here, then renames it to `newName` in `target`: the copy appears
    /// whole or not at all.
    public func copyFile(_ name: String, from source: ConfinedDirectory, to target: ConfinedDirectory, as newName: String,
                         temporaryName: String) throws(DownloadFailure) {
        let input = try source.openFile(name, flags: O_RDONLY, doing: "read")
        defer { _ = systemClose(input) }
        let output = try openFile(temporaryName, flags: O_WRONLY | O_CREAT | O_EXCL, doing: "write")
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var failure: DownloadFailure?
        copying: while true {
            let count = systemRead(input, &buffer, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                failure = StorageFailure.from(errno: errno, doing: "read", path: source.child(name))
                break
            }
            if count == 0 { break }
            var written = 0
            while written < count {
                let result = buffer.withUnsafeBytes { systemWrite(output, $0.baseAddress! + written, count - written) }
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = StorageFailure.from(errno: errno, doing: "write", path: target.child(newName))
                    break copying
                }
                written += result
            }
        }
        _ = systemClose(output)
        if failure == nil {
            do throws(DownloadFailure) { try rename(temporaryName, to: target, as: newName, doing: "copy into place") } catch { failure = error }
        }
        if let failure {
            removeFile(temporaryName)
            throw failure
        }
    }

    /// Renames `name` here to `newName` in `folder`, replacing what is there (a link there is
    /// replaced, not followed: `rename` never follows the last component).
    public func rename(_ name: String, to folder: ConfinedDirectory, as newName: String, doing action: String = "rename into place") throws(DownloadFailure) {
        guard renameat(descriptor, name, folder.descriptor, newName) == 0 else {
            throw StorageFailure.from(errno: errno, doing: action, path: folder.child(newName))
        }
    }

    /// Removes the entry `name` if it is not a folder (a link is removed, not its target).
    @discardableResult
    public func removeFile(_ name: String) -> Bool { unlinkat(descriptor, name, 0) == 0 }

    /// The contents of the regular file `name` (at most `limit` bytes); nil when it is missing,
    /// a link, or larger.
    public func readFile(_ name: String, limit: Int = 1 << 20) -> Data? {
        guard let fd = try? openFile(name, flags: O_RDONLY) else { return nil }
        defer { _ = systemClose(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = systemRead(fd, &buffer, buffer.count)
            if count < 0 { if errno == EINTR { continue }; return nil }
            if count == 0 { return data }
            data.append(contentsOf: buffer[0..<count])
            if data.count > limit { return nil }
        }
    }

    /// The entry's modification time in seconds since 1970 (of a link itself, not its target).
    public func modificationTime(_ name: String) -> Double? {
        guard let info = status(name) else { return nil }
        #if canImport(Darwin)
        return Double(info.st_mtimespec.tv_sec) + Double(info.st_mtimespec.tv_nsec) / 1e9
        #else
        return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        #endif
    }

    /// Writes `data` under a temporary name here, then renames it over `name` in `target` (this
    /// folder by default) in one step: readers see the old file or the new one, and a link at
    /// `name` is replaced, never written through.
    public func writeAtomically(_ data: Data, as name: String, into target: ConfinedDirectory? = nil,
                                temporaryName: String = ".modelpull-\(UUID().uuidString).tmp") throws(DownloadFailure) {
        let fd = try openFile(temporaryName, flags: O_WRONLY | O_CREAT | O_EXCL, doing: "write")
        var failure: DownloadFailure?
        data.withUnsafeBytes { buffer in
            var written = 0
            while written < buffer.count {
                let result = systemWrite(fd, buffer.baseAddress! + written, buffer.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = StorageFailure.from(errno: errno, doing: "write", path: child(name))
                    return
                }
                written += result
            }
        }
        _ = systemClose(fd)
        if failure == nil {
            do throws(DownloadFailure) { try rename(temporaryName, to: target ?? self, as: name, doing: "write") } catch { failure = error }
        }
        if let failure {
            removeFile(temporaryName)
            throw failure
        }
    }

    /// Names of the entries in this folder that are valid UTF-8 (everything ModelPull writes is;
    /// other names are skipped rather than mangled into a name that does not exist).
    public func entryNames() -> [String] {
        NoFollow.entries(of: descriptor).compactMap { String(validating: $0.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    }
}

/// Deletion and walking that never follow a link out of the tree they were given.
public enum NoFollow {
    static func refusal(_ path: String, root: String) -> DownloadFailure {
        DownloadFailure(.storage,
            "\(path) is a symbolic link (or not a folder) inside \(root); ModelPull does not follow links below its destination, so that nothing is written elsewhere. Remove the link and retry.",
            retryable: false)
    }

    /// Removes `path` and, when it is a folder, everything in it, without following a link at any
    /// level: a link is removed itself and its target is left alone (FileManager's `removeItem`
    /// gives no such promise on every platform). `path`'s parent folder is trusted. Returns false
    /// when something could not be removed (the rest is removed anyway); a missing `path` is fine.
    @discardableResult
    public static func removeTree(_ path: String) -> Bool {
        let parent = systemOpen((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parent >= 0 else { return errno == ENOENT }
        defer { _ = systemClose(parent) }
        let name = Array((path as NSString).lastPathComponent.utf8CString)
        return remove(name, in: parent)
    }

    private static func remove(_ name: [CChar], in parent: Int32) -> Bool {
        var info = stat()
        guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return errno == ENOENT }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return unlinkat(parent, name, 0) == 0 || errno == ENOENT }
        let folder = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard folder >= 0 else { return false }
        var removedAll = true
        for entry in entries(of: folder) where !remove(entry, in: folder) { removedAll = false }
        _ = systemClose(folder)
        return unlinkat(parent, name, AT_REMOVEDIR) == 0 && removedAll
    }

    /// Entry names (NUL-terminated, exact bytes) of an open folder, without `.` and `..`.
    static func entries(of folder: Int32) -> [[CChar]] {
        let copy = dup(folder)
        guard copy >= 0, let stream = fdopendir(copy) else { return [] }
        defer { closedir(stream) }
        var names: [[CChar]] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> [CChar] in
                let bytes = raw.bindMemory(to: CChar.self)
                let length = bytes.firstIndex(of: 0) ?? bytes.count
                return Array(bytes[0..<length]) + [0]
            }
            if name == [46, 0] || name == [46, 46, 0] { continue }
            names.append(name)
        }
        return names
    }

    /// Relative paths of every non-folder entry under `root` (links listed, never descended into).
    static func walk(_ root: String) -> [String] {
        var paths: [String] = []
        func visit(_ relative: String) {
            let folder = relative.isEmpty ? root : (root as NSString).appendingPathComponent(relative)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
            for name in names {
                let child = relative.isEmpty ? name : relative + "/" + name
                var info = stat()
                guard lstat((root as NSString).appendingPathComponent(child), &info) == 0 else { continue }
                if (info.st_mode & S_IFMT) == S_IFDIR { visit(child) } else { paths.append(child) }
            }
        }
        visit("")
        return paths.sorted(by: { ExactPath($0) < ExactPath($1) })
    }
}

#if canImport(Glibc)
private func systemClose(_ fd: Int32) -> Int32 { Glibc.close(fd) }
private func systemOpen(_ path: String, _ flags: Int32) -> Int32 { Glibc.open(path, flags) }
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { Glibc.write(fd, buffer, count) }
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { Glibc.read(fd, buffer, count) }
#else
private func systemClose(_ fd: Int32) -> Int32 { Darwin.close(fd) }
private func systemOpen(_ path: String, _ flags: Int32) -> Int32 { Darwin.open(path, flags) }
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { Darwin.write(fd, buffer, count) }
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { Darwin.read(fd, buffer, count) }
#endif
