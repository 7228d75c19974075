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

    /// Whether someone holding `roles` may take `action` on some client.
    public static func permits(_ action: ReviewAction, roles: [Role]) -> Bool {
        roles.contains(where: self.roles(for: action).contains)
    }

    /// Whether a person may take `action` on `client`'s batches: the one rule the CLI and the
    /// site apply. An admin may do anything anywhere; a reviewer reads, works and approves the
    /// clients the vault's review grants name (`scope`); a viewer reads those; an operator reads
    /// and works the clients whose keys they hold (`keyClients`); only an admin reverses.
    public static func permits(
        _ action: ReviewAction, client: String, roles: [Role], keyClients: [String], scope: ReviewScope
    ) -> Bool {
        if roles.contains(.admin) { return true }
        switch action {
        case .reverse:
            return scope.mayReverse
        case .approve:
            return roles.contains(.reviewer) && scope.mayApprove(client: client)
        case .work, .export:
            return (roles.contains(.reviewer) && scope.mayApprove(client: client))
                || (roles.contains(.operator) && keyClients.contains(client))
        case .read:
            return ((roles.contains(.reviewer) || roles.contains(.viewer)) && scope.mayRead(client: client))
                || (roles.contains(.operator) && keyClients.contains(client))
        }
    }

    /// Why a person may not: the sentence a refusal carries.
    public static func refusal(_ action: ReviewAction, client: String, name: String, roles: [Role]) -> String {
        if !permits(action, roles: roles) {
            return
                "\(name) needs the \(self.roles(for: action).map(\.rawValue).joined(separator: " or ")) role to \(action.rawValue)"
        }
        return
            "\(name) may not \(action.rawValue) \(client)'s batches: no review grant for \(client) (nightjar vault review grant \(name) \(client) --as ADMIN)"
    }
}
