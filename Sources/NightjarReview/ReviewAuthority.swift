public import NightjarVault

/// What a person does in review.
public enum ReviewAction: String, Sendable, CaseIterable {
    /// See batches, the worklist, invoices and accounts.
    case read
    /// Reassign a line, accept a suggestion.
    case work
    case approve
    case reverse
    /// Export a batch's journal (recorded).
    case export
}

/// Which roles may take which review action: one rule for the CLI and the site.
public enum ReviewAuthority {
    /// The roles any one of which allows `action`.
    public static func roles(for action: ReviewAction) -> [Role] {
        switch action {
        case .read, .work, .export: [.reviewer, .admin, .operator]
        case .approve: [.reviewer, .admin]
        case .reverse: [.admin]
        }
    }

    /// Whether someone holding `roles` may take `action`.
    public static func permits(_ action: ReviewAction, roles: [Role]) -> Bool {
        roles.contains(where: self.roles(for: action).contains)
    }
}
