// swift-tools-version:6.0
// Nightjar: overnight portal automation for accounts receivable.
//
// The shipped `nightjar` executable and every library it links depend on no Swift package:
// only the toolchain, Foundation and system C libraries, each reached through its own
// system-library target (Sources/C*) with a header-only shim.
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Nightjar",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "nightjar", targets: ["nightjar"]),
        .executable(name: "nightjar-bench", targets: ["NightjarBench"]),
    ],
    targets: [
        // System C libraries, one target each.
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CArgon2", pkgConfig: "libargon2", providers: [.apt(["libargon2-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CXML", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSystem"),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        .systemLibrary(name: "CGMime", pkgConfig: "gmime-3.0", providers: [.apt(["libgmime-3.0-dev"])]),

        // The flow, one module per stage.
        .target(name: "NightjarCore", dependencies: ["CSystem"], swiftSettings: strictSettings),
        .target(
            name: "NightjarCrypto", dependencies: ["NightjarCore", "CCrypto", "CArgon2"],
            swiftSettings: strictSettings),
        .target(
            name: "NightjarStore", dependencies: ["NightjarCore", "CSQLite"],
            swiftSettings: strictSettings),
        .target(
            name: "NightjarVault", dependencies: ["NightjarCore", "NightjarCrypto"], swiftSettings: strictSettings),
        .target(
            name: "NightjarHTTP", dependencies: ["NightjarCore", "NightjarCrypto", "CCurl", "CZlib"],
            swiftSettings: strictSettings),
        .target(name: "NightjarMarkup", dependencies: ["NightjarCore", "CXML"], swiftSettings: strictSettings),
        .target(
            name: "NightjarDocuments", dependencies: ["NightjarCore", "NightjarMarkup", "CXML", "CZlib", "CSystem"],
            swiftSettings: strictSettings),
        .target(name: "NightjarMatching", dependencies: ["NightjarCore"], swiftSettings: strictSettings),
        .target(
            name: "NightjarLedger",
            dependencies: [
                "NightjarCore", "NightjarStore", "NightjarDocuments", "NightjarCrypto",
                "NightjarMatching",
            ],
            swiftSettings: strictSettings),
        .target(
            name: "NightjarScript",
            dependencies: ["NightjarCore", "NightjarCrypto", "NightjarHTTP", "NightjarMarkup", "NightjarDocuments"],
            swiftSettings: strictSettings),
        // Sources other than portals: mailboxes over IMAP (MIME through GMime), the morning mail
        // over SMTP, and SFTP drops; each runs a definition of the same language as portals.
        .target(
            name: "NightjarMail",
            dependencies: [
                "NightjarCore", "NightjarCrypto", "NightjarHTTP", "NightjarScript", "NightjarDocuments",
                "CGMime",
            ],
            swiftSettings: strictSettings),
        .target(
            name: "NightjarFileDrop",
            dependencies: ["NightjarCore", "NightjarCrypto", "NightjarHTTP", "NightjarScript", "NightjarDocuments"],
            swiftSettings: strictSettings),
        .target(
            name: "NightjarReview",
            dependencies: ["NightjarCore", "NightjarLedger", "NightjarMatching", "NightjarCrypto", "NightjarVault"],
            swiftSettings: strictSettings),
        .target(
            name: "NightjarAgent",
            dependencies: [
                "NightjarCore", "NightjarStore", "NightjarDocuments", "NightjarLedger", "NightjarHTTP",
                "NightjarScript", "NightjarReview", "NightjarMatching", "NightjarMail", "NightjarFileDrop",
            ],
            swiftSettings: strictSettings),
        // The review site (`nightjar serve`): every action through the review code the CLI uses.
        .target(
            name: "NightjarSite",
            dependencies: [
                "NightjarCore", "NightjarCrypto", "NightjarStore", "NightjarVault", "NightjarLedger",
                "NightjarReview", "NightjarMatching", "CMicroHTTPD",
            ],
            swiftSettings: strictSettings),
        .target(
            name: "NightjarCLI",
            dependencies: [
                "NightjarCore", "NightjarCrypto", "NightjarStore", "NightjarVault",
                "NightjarDocuments", "NightjarLedger", "NightjarHTTP", "NightjarScript", "NightjarAgent",
                "NightjarReview", "NightjarMatching", "NightjarSite", "NightjarMail", "NightjarFileDrop",
            ],
            swiftSettings: strictSettings),
        .executableTarget(name: "nightjar", dependencies: ["NightjarCLI"], swiftSettings: strictSettings),

        // Fake supplier portals over real HTTP(S) on loopback, for tests and the demo only.
        .target(
            name: "NightjarSandbox", dependencies: ["NightjarCore", "COpenSSL", "CZlib"],
            swiftSettings: strictSettings),
        .executableTarget(name: "nightjar-sandbox", dependencies: ["NightjarSandbox"], swiftSettings: strictSettings),

        // Benchmarks (`make bench`), release build only.
        .executableTarget(
            name: "NightjarBench",
            dependencies: [
                "CSystem", "NightjarCore", "NightjarCrypto", "NightjarStore", "NightjarVault",
                "NightjarDocuments", "NightjarLedger", "NightjarHTTP", "NightjarScript", "NightjarAgent",
                "NightjarSite",
            ],
            path: "Benchmarks/NightjarBench", swiftSettings: strictSettings),

        // Test support: a child process the store's crash test kills mid-transaction.
        .executableTarget(
            name: "nightjar-crash-writer", dependencies: ["NightjarStore", "NightjarCore"],
            path: "Tests/Support/CrashWriter", swiftSettings: strictSettings),

        // Test support: a vault writer the vault's crash test kills mid-save.
        .executableTarget(
            name: "nightjar-vault-writer", dependencies: ["NightjarVault", "NightjarCore"],
            path: "Tests/Support/VaultWriter", swiftSettings: strictSettings),

        .testTarget(name: "NightjarCoreTests", dependencies: ["NightjarCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "NightjarCryptoTests", dependencies: ["NightjarCrypto", "NightjarCore"],
            resources: [.copy("Vectors")], swiftSettings: strictSettings),
        .testTarget(
            name: "NightjarStoreTests", dependencies: ["NightjarStore", "NightjarCore"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "NightjarVaultTests", dependencies: ["NightjarVault", "NightjarCrypto", "NightjarCore"],
            resources: [.copy("Fixtures")], swiftSettings: strictSettings),
        .testTarget(
            name: "NightjarHTTPTests",
            dependencies: ["NightjarHTTP", "NightjarSandbox", "NightjarCore", "NightjarCrypto"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "NightjarDocumentsTests",
            dependencies: ["NightjarDocuments", "NightjarMarkup", "NightjarCore", "NightjarSandbox"],
            resources: [.copy("Samples"), .copy("Fixtures")], swiftSettings: strictSettings),
        .testTarget(
            name: "NightjarMatchingTests", dependencies: ["NightjarMatching", "NightjarCore"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "NightjarLedgerTests",
            dependencies: [
                "NightjarLedger", "NightjarDocuments", "NightjarStore", "NightjarCore",
                "NightjarSandbox", "NightjarMatching",
            ],
            swiftSettings: strictSettings),
        .testTarget(
            name: "NightjarScriptTests",
            dependencies: [
                "NightjarScript", "NightjarMarkup", "NightjarHTTP", "NightjarSandbox", "NightjarCore", "NightjarCrypto",
            ],
            swiftSettings: strictSettings),
        .testTarget(
            name: "NightjarMailTests",
            dependencies: [
                "NightjarMail", "NightjarScript", "NightjarHTTP", "NightjarSandbox", "NightjarCore",
                "NightjarDocuments",
            ],
            swiftSettings: strictSettings),
        .testTarget(
            name: "NightjarFileDropTests",
            dependencies: ["NightjarFileDrop", "NightjarScript", "NightjarHTTP", "NightjarCore", "NightjarSandbox"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "NightjarReviewTests",
            dependencies: ["NightjarReview", "NightjarLedger", "NightjarCore", "NightjarDocuments", "NightjarStore"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "NightjarSiteTests",
            dependencies: [
                "NightjarSite", "NightjarCore", "NightjarCrypto", "NightjarVault", "NightjarStore",
                "NightjarLedger", "NightjarReview",
            ], swiftSettings: strictSettings),
        .testTarget(
            name: "NightjarAgentTests", dependencies: ["NightjarAgent", "NightjarCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "NightjarCLITests",
            dependencies: ["NightjarCLI", "NightjarCore", "NightjarSandbox", "NightjarStore"],
            swiftSettings: strictSettings),
    ],
    swiftLanguageModes: [.v6]
)
