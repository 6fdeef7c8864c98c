using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Xunit;

namespace FixedShapeAttention.Generators.Tests;

/// <summary>
/// The generated source of a few canonical shapes, compared with approved files in Snapshots/ (see
/// <see cref="SnapshotAssert"/>; accept a change with <c>FSA_ACCEPT_SNAPSHOTS=1</c>), and compiled.
/// </summary>
public sealed class GeneratorSnapshotTests
{
    /// <summary>
    /// The canonical shapes, by class name (the snapshot's "method" part). WorkedExample's projection is fully unrolled; MiniLm is
    /// blocked on whole 16-lane panels; OddCausal is blocked with a one-row tail, 5-wide heads, 20 and 36 columns
    /// (overlapping tail slots), the causal mask and GELU.
    /// </summary>
    private static readonly IReadOnlyDictionary<string, string> s_shapes = new Dictionary<string, string>
    {
        ["WorkedExample"] = "[TransformerShape(4, 3, 12)]",
        ["MiniLm"] = "[TransformerShape(128, 384, 1536, Heads = 12)]",
        ["OddCausal"] = "[TransformerShape(13, 20, 36, Heads = 4, Causal = true, Activation = Activation.Gelu)]",
    };

    public static TheoryData<string> ShapeNames => new(s_shapes.Keys);

    private static string SourceOf(string name) => $$"""
        using FixedShapeAttention;

        namespace Demo;

        {{s_shapes[name]}}
        public partial class {{name}} { }
        """;

    [Theory]
    [MemberData(nameof(ShapeNames))]
    public void Generated_sources_match_the_snapshots(string shape)
    {
        GeneratorRun run = GeneratorHarness.Run(SourceOf(shape));

        Assert.Empty(run.DriverDiagnostics);
        Assert.Equal(
            new[] { $"Demo.{shape}.Attention.g.cs", $"Demo.{shape}.FeedForward.g.cs", $"Demo.{shape}.Projection.g.cs", $"Demo.{shape}.Shape.g.cs", $"Demo.{shape}.Training.g.cs" },
            run.Sources.Keys);
        foreach ((string hint, string source) in run.Sources)
        {
            SnapshotAssert.Matches(source, nameof(GeneratorSnapshotTests), shape, hint);
        }
    }

    [Theory]
    [MemberData(nameof(ShapeNames))]
    public void Generated_sources_compile(string shape)
    {
        GeneratorHarness.AssertGeneratedCodeCompiles(GeneratorHarness.Run(SourceOf(shape)));
    }

    /// <summary>
    /// Generated code must stay proportional to what it does (issue 10: the 4 × 3 × 12 worked example once emitted 4,635
    /// lines, MiniLM 2,276): bodies shared between ISA branches and between the raw and packed kernels are emitted once.
    /// The budgets grew with the training kernels (attention backward with its two-phase path, and the weighted layers'
    /// training passes: WorkedExample 1,520 lines, MiniLm 2,624, OddCausal 3,506 on 2026-11-30), which reuse the
    /// forward's Q·Kᵀ bodies and the one-phase backward's product bodies instead of emitting their own. The training row
    /// passes (LayerNorm forward and backward, embedding backward, cross-entropy) cost 121 lines per shape, mostly their
    /// documentation (each body is one call of TrainingOperations), and raised every budget by exactly that.
    /// The Vector128 branch (issue 13) added ~90–500 lines a shape: WorkedExample 1,608, MiniLm 3,112, OddCausal 4,045
    /// before the row passes. Packing W panels on the fly for plain arrays added a few lines a product (MiniLm 3,206).
    /// A causal shape's decoding kernels (CreateKeyValueCache, Prefill, DecodeStep and their two chunk kernels, which call the
    /// causal kernel's bodies) cost OddCausal 171 lines on the three branches they had then; with the Vector128 branch and the
    /// row passes OddCausal came to 4,355. The plain-array row tile that copies each panel as it computes (issue 13, part 1)
    /// is one more tile body per product whose panels are copied, per branch body: MiniLm's x·W1, h·W2 and projection,
    /// 500 lines (MiniLm 3,921). Causal Q·Kᵀ's narrower tiles on the diagonal (one per slot count below a panel's, so that
    /// a tile ending inside a panel computes only the vectors up to its last row's key) cost OddCausal's attention file 195
    /// lines on the branches that narrow (Vector256, Vector128 and scalar: 4,550 in all on 2026-11-30). The softmax's masked
    /// vector store in place of a scalar store per key, and the log-sum-exps after the rows, came to 4,563 (2026-12-01);
    /// the same store for the key-padding mask of a bidirectional shape, MiniLm 3,947.
    /// </summary>
    [Theory]
    [InlineData("WorkedExample", 1821)]
    [InlineData("MiniLm", 3960)]
    [InlineData("OddCausal", 4580)]
    public void Generated_sources_stay_within_their_size_budget(string shape, int maxLines)
    {
        GeneratorRun run = GeneratorHarness.Run(SourceOf(shape));

        int lines = run.Sources.Values.Sum(source => source.Split('\n').Length - (source.EndsWith('\n') ? 1 : 0));
        Assert.True(lines <= maxLines, $"{shape} generates {lines} lines, more than {maxLines}.");
        foreach ((string hint, string source) in run.Sources)
        {
            string longest = source.Split('\n').OrderByDescending(line => line.Length).First();
            Assert.True(longest.Length <= MaxLineLength, $"{hint} has a line of {longest.Length} characters (at most {MaxLineLength}):\n{longest}");
        }
    }

    /// <summary>The widest line generated code may have.</summary>
    private const int MaxLineLength = 160;

    // A snapshot no test produces any more (a renamed shape, a dropped hint) would never be compared again: fail on it.
    [Fact]
    public void Snapshots_folder_holds_only_files_the_snapshot_tests_produce()
    {
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (string shape in s_shapes.Keys)
        {
            foreach (string hint in GeneratorHarness.Run(SourceOf(shape)).Sources.Keys)
            {
                expected.Add(SnapshotAssert.VerifiedFileName(nameof(GeneratorSnapshotTests), shape, hint));
            }
        }

        // Other test classes (SentenceEncoderGeneratorTests) keep their snapshots here too, under their own name.
        string[] stale = Directory.EnumerateFiles(SnapshotAssert.Directory, nameof(GeneratorSnapshotTests) + ".*.verified.*")
            .Select(Path.GetFileName)
            .Where(file => !expected.Contains(file!))
            .OrderBy(file => file, StringComparer.Ordinal)
            .ToArray()!;

        Assert.True(stale.Length == 0, "Stale snapshots that no test produces; delete them:\n  " + string.Join("\n  ", stale));
    }
}
