using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Text;
using DiffPlex.DiffBuilder;
using DiffPlex.DiffBuilder.Model;
using Xunit;

namespace FixedShapeAttention.Generators.Tests;

/// <summary>
/// A small snapshot helper that keeps Verify's file layout, so the files read the same as in other generator
/// repositories: <c>Snapshots/{Class}.{Method}#{HintName}.verified.cs</c>, with the hint's trailing <c>.cs</c>
/// dropped (<c>GeneratorSnapshotTests.MiniLm#Demo.MiniLm.Attention.g.verified.cs</c>).
/// </summary>
/// <remarks>
/// On a mismatch, or when the verified file is missing, the actual text is written next to it as
/// <c>….received.cs</c> (git-ignored) and the test fails with a diff. To accept the new output, rerun with the
/// environment variable <c>FSA_ACCEPT_SNAPSHOTS=1</c>: every compared snapshot is then overwritten with what the
/// generator produced and the test passes; review the change with <c>git diff</c> before committing it.
/// Line endings are normalised to <c>\n</c> on both sides (.gitattributes keeps *.verified.cs at LF).
/// </remarks>
internal static class SnapshotAssert
{
    public const string AcceptVariable = "FSA_ACCEPT_SNAPSHOTS";

    private const string VerifiedSuffix = ".verified.cs";
    private const string ReceivedSuffix = ".received.cs";
    private const int MaxDiffLines = 80;
    private const int ContextLines = 3;

    /// <summary>The Snapshots folder of the source tree (not the output directory), found from this file's path.</summary>
    public static string Directory { get; } = Path.Combine(Path.GetDirectoryName(ThisFilePath())!, "Snapshots");

    private static bool Accepting => Environment.GetEnvironmentVariable(AcceptVariable) == "1";

    /// <summary>The verified file name of one generated hint, e.g. <c>GeneratorSnapshotTests.MiniLm#Demo.MiniLm.Shape.g.verified.cs</c>.</summary>
    public static string VerifiedFileName(string className, string methodName, string hintName)
    {
        string hint = hintName.EndsWith(".cs", StringComparison.Ordinal) ? hintName[..^3] : hintName;
        return $"{className}.{methodName}#{hint}{VerifiedSuffix}";
    }

    public static void Matches(string actual, string className, string methodName, string hintName)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            Assert.Fail($"The snapshot folder {Directory} does not exist; the tests must run from a build of the source tree.");
        }

        string verifiedPath = Path.Combine(Directory, VerifiedFileName(className, methodName, hintName));
        string receivedPath = verifiedPath[..^VerifiedSuffix.Length] + ReceivedSuffix;
        string received = Normalize(actual);

        if (Accepting)
        {
            File.WriteAllText(verifiedPath, received, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            File.Delete(receivedPath);
            return;
        }

        string? verified = File.Exists(verifiedPath) ? Normalize(File.ReadAllText(verifiedPath)) : null;
        if (verified == received)
        {
            File.Delete(receivedPath);
            return;
        }

        File.WriteAllText(receivedPath, received, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        string name = Path.GetFileName(verifiedPath);
        Assert.Fail(verified is null
            ? $"No snapshot {name}. The output was written to {Path.GetFileName(receivedPath)}; rerun with {AcceptVariable}=1 to accept it."
            : $"The output differs from {name} (- verified, + received). It was written to {Path.GetFileName(receivedPath)}; " +
              $"rerun with {AcceptVariable}=1 to accept it.\n{Diff(verified, received)}");
    }

    public static string Normalize(string text) => text.Replace("\r\n", "\n").Replace('\r', '\n');

    /// <summary>A unified-style diff: changed lines with a few lines of context, cut after <see cref="MaxDiffLines"/> lines.</summary>
    public static string Diff(string verified, string received)
    {
        // Whitespace counts: indentation and trailing blanks are part of the generated code's contract.
        List<DiffPiece> lines = InlineDiffBuilder.Diff(verified, received, ignoreWhiteSpace: false, ignoreCase: false).Lines;
        var show = new bool[lines.Count];
        for (int i = 0; i < lines.Count; i++)
        {
            if (lines[i].Type != ChangeType.Unchanged)
            {
                for (int j = Math.Max(0, i - ContextLines); j <= Math.Min(lines.Count - 1, i + ContextLines); j++)
                {
                    show[j] = true;
                }
            }
        }

        var diff = new StringBuilder();
        int written = 0, verifiedLine = 0, receivedLine = 0;
        bool gap = true;
        for (int i = 0; i < lines.Count; i++)
        {
            DiffPiece line = lines[i];
            if (line.Type != ChangeType.Inserted)
            {
                verifiedLine++;
            }

            if (line.Type != ChangeType.Deleted)
            {
                receivedLine++;
            }

            if (!show[i])
            {
                gap = true;
                continue;
            }

            if (written == MaxDiffLines)
            {
                diff.Append("… (diff cut; compare the .received.cs file with the .verified.cs file for the rest)\n");
                break;
            }

            if (gap)
            {
                diff.Append($"@@ verified line {verifiedLine}, received line {receivedLine} @@\n");
                gap = false;
            }

            string prefix = line.Type switch { ChangeType.Inserted => "+", ChangeType.Deleted => "-", _ => " " };
            diff.Append(prefix).Append(line.Text).Append('\n');
            written++;
        }

        return diff.ToString();
    }

    private static string ThisFilePath([CallerFilePath] string path = "") => path;
}
