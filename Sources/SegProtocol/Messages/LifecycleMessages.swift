/// `initialized` (client → server notification): the client has read `initialize`'s result.
public enum InitializedNotification {
    public static let method = "initialized"
}

/// `shutdown`: answer `null`, then refuse every further request with InvalidRequest until
/// `exit`. Answered before anything after it is processed.
public enum ShutdownRequest {
    public static let method = "shutdown"
}

/// `exit` (notification): end the process, with status 0 if `shutdown` came first, else 1.
/// On a socket connection it closes that connection only.
public enum ExitNotification {
    public static let method = "exit"
}
