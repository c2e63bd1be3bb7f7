/// What a file transfer tells its caller, as one value threaded through every fetch layer
/// (`FileTransfer`, `ParallelFetcher`, `SequentialFetcher`) instead of three callbacks each.
public struct TransferObserver: Sendable {
    /// What the first response says about the file (size, strong validator), before any byte
    /// of it is written, and again when that changes (see `RemoteIdentityWatch`). It may throw
    /// to refuse the transfer (the disk-space preflight).
    public var started: @Sendable (RemoteFileIdentity) throws -> Void
    /// How many bytes of the file are on disk.
    public var progressed: @Sendable (Int64) -> Void
    /// A sentence for a person: a retry and its wait, or a restart from zero and why.
    public var retrying: @Sendable (String) -> Void

    public init(started: @escaping @Sendable (RemoteFileIdentity) throws -> Void = { _ in },
                progressed: @escaping @Sendable (Int64) -> Void = { _ in },
                retrying: @escaping @Sendable (String) -> Void = { _ in }) {
        self.started = started
        self.progressed = progressed
        self.retrying = retrying
    }
}
