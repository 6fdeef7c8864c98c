using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using FixedShapeAttention.Generators.Model;
using FixedShapeAttention.Generators.Planning;
using FixedShapeAttention.Tests;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;
using Xunit;

namespace FixedShapeAttention.Generators.Tests;

/// <summary>
/// Random shapes through the real generator, end to end: one compilation holds every shape, the generator runs over
/// it, the output is emitted (Release), loaded into a collectible AssemblyLoadContext, and each shape's generated
/// entry points run on seeded data against the float64 reference of the kernel tests: <c>Attention</c> plain and with
/// a key-padding mask, <c>FeedForward</c> on raw spans and on packed weights, <c>Project</c> on raw spans and on packed
/// weights. The generic kernels run the same inputs and must match the generated ones within
/// <see cref="Tolerances.EngineUlps"/>. The snapshot and variant tests pin a handful of shapes; this covers the
/// planner's decisions (unroll or block, row and column tails, lanes, heads, causal, activation, the feed-forward
/// column split, score rows walked in blocks) across the space users actually declare.
/// </summary>
public sealed class ShapeFuzzTests
{
    internal const int DefaultShapeCount = 500;

    /// <summary>Every this-many-th shape is drawn from the large ranges (<see cref="RandomShapes"/>).</summary>
    private const int LargeShapeEvery = 8;

    /// <summary>One random shape and the data it runs on. <see cref="Attribute"/> is what to paste to reproduce it alone.</summary>
    internal sealed record FuzzShape(int Index, TransformerShape Shape, int Batch, int DataSeed, bool Large)
    {
        public string ClassName => $"Shape_{Index}";

        public string Attribute =>
            $"[TransformerShape({Shape.SequenceLength}, {Shape.EmbeddingDim}, {Shape.FfnDim}, Heads = {Shape.Heads}, " +
            $"Causal = {(Shape.Causal ? "true" : "false")}, Activation = Activation.{Shape.Activation})]";
    }

    /// <summary>What the run reached, counted per shape; logged, and the paths the large shapes exist for are asserted.</summary>
    private sealed class Coverage
    {
        public int Shapes, Large, ColumnSplit, ScoreRowBlocks, Causal, MaskedSequences, MaskedNoKey, MaskedAllKeys, MaskedPartial;
        public int Attention, MaskedAttention, AttentionBackward, FeedForward, PackedFeedForward, Projection, PackedProjection, GenericChecked;

        public override string ToString() =>
            $"{Shapes} shapes ({Large} large, {Causal} causal): feed-forward column split {ColumnSplit}, attention score rows in blocks {ScoreRowBlocks}; " +
            $"Attention {Attention}, masked Attention {MaskedAttention} ({MaskedSequences} sequences: {MaskedNoKey} with no key, {MaskedAllKeys} with all, " +
            $"{MaskedPartial} partial), AttentionBackward {AttentionBackward}, FeedForward raw {FeedForward} / packed {PackedFeedForward}, Project raw {Projection} / packed {PackedProjection}, " +
            $"generic engine compared on {GenericChecked}";
    }

    // The generated code is called through this class, compiled with the shapes: plain float[] parameters (spans
    // cannot go through reflection or a closed delegate type shared across load contexts) and an int that picks
    // the shape, so the test builds a few delegates in all instead of a few per shape. The packed-weight types come
    // from the runtime library, which both load contexts share.
    private delegate void AttentionRunner(int shape, float[] q, float[] k, float[] v, float[] output, int maxDegreeOfParallelism);

    private delegate void MaskedAttentionRunner(int shape, float[] q, float[] k, float[] v, int[] keyCounts, float[] output, int maxDegreeOfParallelism);

    private delegate void AttentionBackwardRunner(
        int shape, float[] q, float[] k, float[] v, int[] keyCounts, float[] output, float[] logSumExp, float[] outputGradient,
        float[] queryGradient, float[] keyGradient, float[] valueGradient, int maxDegreeOfParallelism);

    private delegate void FeedForwardRunner(int shape, float[] x, float[] w1, float[] b1, float[] w2, float[] b2, float[] y, int maxDegreeOfParallelism);

    private delegate PackedFeedForwardWeights FeedForwardPacker(int shape, float[] w1, float[] b1, float[] w2, float[] b2);

    private delegate void PackedFeedForwardRunner(int shape, float[] x, PackedFeedForwardWeights weights, float[] y, int maxDegreeOfParallelism);

    private delegate void ProjectionRunner(int shape, float[] x, float[] w, float[] b, float[] y, int maxDegreeOfParallelism);

    private delegate PackedProjectionWeights ProjectionPacker(int shape, float[] w, float[] b);

    private delegate void PackedProjectionRunner(int shape, float[] x, PackedProjectionWeights weights, float[] y, int maxDegreeOfParallelism);

    private sealed record Runners(
        Func<int, TransformerShape> Shape,
        AttentionRunner Attention,
        MaskedAttentionRunner MaskedAttention,
        AttentionBackwardRunner AttentionBackward,
        FeedForwardRunner FeedForward,
        FeedForwardPacker PackFeedForward,
        PackedFeedForwardRunner PackedFeedForward,
        ProjectionRunner Project,
        ProjectionPacker PackProjection,
        PackedProjectionRunner PackedProject);

    [Fact]
    public void Random_shapes_compile_through_the_generator_and_agree_with_the_float64_reference()
    {
        int seed = FuzzSettings.Seed;
        int count = FuzzSettings.Read(FuzzSettings.ShapesVariable, DefaultShapeCount);
        string replay = $"replay: {FuzzSettings.SeedVariable}={seed} {FuzzSettings.ShapesVariable}={count} dotnet test --project tests/FixedShapeAttention.Generators.Tests --filter-class '*ShapeFuzzTests'";
        FuzzSettings.Log($"shape fuzz: {count} shapes, seed {seed} ({replay})");

        FuzzShape[] shapes = RandomShapes(seed, count);
        var clock = Stopwatch.StartNew();
        byte[] image = CompileWithGenerator(shapes, replay);
        TimeSpan compileTime = clock.Elapsed;

        var context = new AssemblyLoadContext("ShapeFuzz", isCollectible: true);
        var failures = new List<string>();
        var coverage = new Coverage();
        try
        {
            Type runner = context.LoadFromStream(new MemoryStream(image)).GetType("Fuzz.Runner", throwOnError: true)!;
            var runners = new Runners(
                Bind<Func<int, TransformerShape>>(runner, "Shape"),
                Bind<AttentionRunner>(runner, "Attention"),
                Bind<MaskedAttentionRunner>(runner, "MaskedAttention"),
                Bind<AttentionBackwardRunner>(runner, "AttentionBackward"),
                Bind<FeedForwardRunner>(runner, "FeedForward"),
                Bind<FeedForwardPacker>(runner, "PackFeedForward"),
                Bind<PackedFeedForwardRunner>(runner, "PackedFeedForward"),
                Bind<ProjectionRunner>(runner, "Project"),
                Bind<ProjectionPacker>(runner, "PackProjection"),
                Bind<PackedProjectionRunner>(runner, "PackedProject"));
            foreach (FuzzShape shape in shapes)
            {
                CountPlan(shape, coverage);
                Check(shape, runners, failures, coverage);
            }
        }
        finally
        {
            // Nothing of the fuzz assembly may outlive the test: its delegates are locals of the try block.
            context.Unload();
        }

        FuzzSettings.Log($"shape fuzz: generator + compile {compileTime.TotalSeconds:F1} s, kernels vs reference {(clock.Elapsed - compileTime).TotalSeconds:F1} s");
        FuzzSettings.Log($"shape fuzz coverage: {coverage}");
        Assert.True(
            failures.Count == 0,
            $"{failures.Count} of {count} shapes disagree with the reference ({replay}):\n" + string.Join("\n", failures.Take(20)));
        if (count >= DefaultShapeCount)
        {
            // What the large shapes are for: a seed or a range change that stops reaching these paths must show.
            Assert.True(coverage.ColumnSplit >= 5, $"only {coverage.ColumnSplit} shapes reach the feed-forward column split ({replay}).");
            Assert.True(coverage.ScoreRowBlocks >= 5, $"only {coverage.ScoreRowBlocks} shapes walk attention score rows in blocks ({replay}).");
            Assert.True(coverage.MaskedNoKey > 0 && coverage.MaskedAllKeys > 0 && coverage.MaskedPartial > 0, $"masked attention missed a key-count kind: {coverage} ({replay}).");
            Assert.True(coverage.AttentionBackward >= count * 3 / 4, $"only {coverage.AttentionBackward} shapes checked attention backward ({replay}).");
        }
    }

    /// <summary>
    /// Small shapes: seq 1–96, dim 1–160, ffn 1–320. Every <see cref="LargeShapeEvery"/>-th shape is large instead:
    /// seq 1–320, dim 1–512, ffn 1–1,536, which reaches the feed-forward column split (seq ≤ 128, dim·ffn ≥ 131,072)
    /// and attention's blocks of score rows (over ~180 rows per chunk). Heads a divisor of dim, causal and activation
    /// uniform; batch 1 or 2 (large: 1).
    /// </summary>
    internal static FuzzShape[] RandomShapes(int seed, int count)
    {
        var random = new Random(seed);
        var shapes = new FuzzShape[count];
        Activation[] activations = Enum.GetValues<Activation>();
        for (int i = 0; i < count; i++)
        {
            bool large = i % LargeShapeEvery == LargeShapeEvery - 1;
            int sequenceLength = random.Next(1, large ? 321 : 97);
            int embeddingDim = random.Next(1, large ? 513 : 161);
            int[] divisors = Enumerable.Range(1, embeddingDim).Where(h => embeddingDim % h == 0).ToArray();
            int heads = divisors[random.Next(divisors.Length)];
            int ffnDim = random.Next(1, large ? 1537 : 321);
            bool causal = random.Next(2) == 1;
            Activation activation = activations[random.Next(activations.Length)];
            var shape = new TransformerShape(sequenceLength, embeddingDim, ffnDim, heads, causal, activation);
            int batch = random.Next(1, 3);
            shapes[i] = new FuzzShape(i, shape, Batch: large ? 1 : batch, DataSeed: random.Next(1 << 30), large);
        }

        return shapes;
    }

    /// <summary>Every shape and the runner in one source, one generator run, one Release emit. Returns the image.</summary>
    private static byte[] CompileWithGenerator(FuzzShape[] shapes, string replay)
    {
        var source = new StringBuilder("using FixedShapeAttention;\nnamespace Fuzz;\n\n");
        foreach (FuzzShape shape in shapes)
        {
            source.Append(shape.Attribute).Append("\npublic partial class ").Append(shape.ClassName).Append(" { }\n\n");
        }

        AppendRunner(source, shapes);

        CSharpCompilation compilation = CSharpCompilation.Create(
            "ShapeFuzz",
            new[] { CSharpSyntaxTree.ParseText(source.ToString(), GeneratorHarness.ParseOptionsWithoutNullableAnalysis, "Shapes.cs") },
            GeneratorHarness.References,
            GeneratorHarness.CompilationOptions.WithOptimizationLevel(OptimizationLevel.Release));
        // 500 shapes are ~60 MB of generated C#: the nullable walker would double the compile time (ShapeVariantCompilationTests
        // and the snapshots cover nullable warnings in generated code; this test is about what the kernels compute).
        GeneratorRun run = GeneratorHarness.Run(compilation, GeneratorHarness.CreateDriver(GeneratorHarness.ParseOptionsWithoutNullableAnalysis));

        Assert.True(run.Result.Exception is null, $"The generator threw ({replay}): {run.Result.Exception}");
        Assert.True(run.DriverDiagnostics.IsEmpty, $"Diagnostics for valid shapes ({replay}):\n" + string.Join("\n", run.DriverDiagnostics.Take(20)));
        Assert.Equal(GeneratorHarness.FilesPerShape * shapes.Length, run.Result.GeneratedSources.Length);
        FuzzSettings.Log($"shape fuzz: {run.Result.GeneratedSources.Sum(s => s.SourceText.Length) / 1e6:F1} M characters of generated C#");

        // Emit reports every compile diagnostic, so this one pass both checks and builds the output.
        using var image = new MemoryStream();
        EmitResult emitted = run.Output.Emit(image);
        Diagnostic[] problems = emitted.Diagnostics
            .Where(d => d.Severity == DiagnosticSeverity.Error
                || d.Severity == DiagnosticSeverity.Warning && d.Location.SourceTree is { } tree && !compilation.SyntaxTrees.Contains(tree))
            .ToArray();
        Assert.True(
            emitted.Success && problems.Length == 0,
            $"The generated code has {problems.Length} error(s) or warning(s) ({replay}):\n" + string.Join("\n", problems.Take(20)));
        return image.ToArray();
    }

    private static void AppendRunner(StringBuilder source, FuzzShape[] shapes)
    {
        source.Append("public static class Runner\n{\n");
        AppendSwitch(source, shapes, "TransformerShape Shape(int shape)", c => $"{c}.Shape");
        AppendSwitch(source, shapes, "void Attention(int shape, float[] q, float[] k, float[] v, float[] output, int maxDegreeOfParallelism)",
            c => $"{c}.Attention(q, k, v, output, maxDegreeOfParallelism)");
        AppendSwitch(source, shapes, "void MaskedAttention(int shape, float[] q, float[] k, float[] v, int[] keyCounts, float[] output, int maxDegreeOfParallelism)",
            c => $"{c}.Attention(q, k, v, keyCounts, output, maxDegreeOfParallelism)");
        AppendSwitch(source, shapes,
            "void AttentionBackward(int shape, float[] q, float[] k, float[] v, int[] keyCounts, float[] output, float[] logSumExp, float[] outputGradient, " +
            "float[] queryGradient, float[] keyGradient, float[] valueGradient, int maxDegreeOfParallelism)",
            c => $"{c}.AttentionForTraining(q, k, v, keyCounts, output, logSumExp, maxDegreeOfParallelism); " +
                $"{c}.AttentionBackward(q, k, v, keyCounts, output, logSumExp, outputGradient, queryGradient, keyGradient, valueGradient, maxDegreeOfParallelism)");
        AppendSwitch(source, shapes, "void FeedForward(int shape, float[] x, float[] w1, float[] b1, float[] w2, float[] b2, float[] y, int maxDegreeOfParallelism)",
            c => $"{c}.FeedForward(x, w1, b1, w2, b2, y, maxDegreeOfParallelism)");
        AppendSwitch(source, shapes, "PackedFeedForwardWeights PackFeedForward(int shape, float[] w1, float[] b1, float[] w2, float[] b2)",
            c => $"{c}.PackFeedForward(w1, b1, w2, b2)");
        AppendSwitch(source, shapes, "void PackedFeedForward(int shape, float[] x, PackedFeedForwardWeights weights, float[] y, int maxDegreeOfParallelism)",
            c => $"{c}.FeedForward(x, weights, y, maxDegreeOfParallelism)");
        AppendSwitch(source, shapes, "void Project(int shape, float[] x, float[] w, float[] b, float[] y, int maxDegreeOfParallelism)",
            c => $"{c}.Project(x, w, b, y, maxDegreeOfParallelism)");
        AppendSwitch(source, shapes, "PackedProjectionWeights PackProjection(int shape, float[] w, float[] b)",
            c => $"{c}.PackProjection(w, b)");
        AppendSwitch(source, shapes, "void PackedProject(int shape, float[] x, PackedProjectionWeights weights, float[] y, int maxDegreeOfParallelism)",
            c => $"{c}.Project(x, weights, y, maxDegreeOfParallelism)");
        source.Append("}\n");
    }

    /// <summary>A public static method of the runner that dispatches on the shape index: a switch expression for a value,
    /// a switch statement for void.</summary>
    private static void AppendSwitch(StringBuilder source, FuzzShape[] shapes, string signature, Func<string, string> call)
    {
        if (signature.StartsWith("void ", StringComparison.Ordinal))
        {
            source.Append($"    public static {signature}\n    {{\n        switch (shape)\n        {{\n");
            foreach (FuzzShape shape in shapes)
            {
                source.Append($"            case {shape.Index}: {call(shape.ClassName)}; break;\n");
            }

            source.Append("            default: throw new System.ArgumentOutOfRangeException(nameof(shape));\n        }\n    }\n\n");
            return;
        }

        source.Append($"    public static {signature} => shape switch\n    {{\n");
        foreach (FuzzShape shape in shapes)
        {
            source.Append($"        {shape.Index} => {call(shape.ClassName)},\n");
        }

        source.Append("        _ => throw new System.ArgumentOutOfRangeException(nameof(shape)),\n    };\n\n");
    }

    private static TDelegate Bind<TDelegate>(Type runner, string name)
        where TDelegate : Delegate =>
        runner.GetMethod(name, BindingFlags.Public | BindingFlags.Static)!.CreateDelegate<TDelegate>();

    /// <summary>Counts the planner's decisions for <paramref name="fuzz"/> that the shape reaches.</summary>
    private static void CountPlan(FuzzShape fuzz, Coverage coverage)
    {
        TransformerShape shape = fuzz.Shape;
        KernelPlan plan = KernelPlanner.Plan(new ShapeSpec(
            new TypeHierarchy("Fuzz", EquatableArray<string>.Empty, fuzz.ClassName),
            shape.SequenceLength, shape.EmbeddingDim, shape.FfnDim, shape.Heads, shape.Causal, (ActivationKind)(int)shape.Activation));
        coverage.Shapes++;
        coverage.Large += fuzz.Large ? 1 : 0;
        coverage.Causal += shape.Causal ? 1 : 0;
        coverage.ColumnSplit += plan.FeedForwardColumnSplit ? 1 : 0;
        coverage.ScoreRowBlocks += plan.AttentionBlocked ? 1 : 0;
    }

    /// <summary>Runs one shape's kernels and records the first disagreement with the reference as a line naming the shape.</summary>
    private static void Check(FuzzShape fuzz, Runners run, List<string> failures, Coverage coverage)
    {
        TransformerShape shape = fuzz.Shape;
        string name = $"{fuzz.ClassName} {fuzz.Attribute}, batch {fuzz.Batch}";
        if (run.Shape(fuzz.Index) != shape)
        {
            failures.Add($"{name}: the generated Shape is {run.Shape(fuzz.Index)}");
            return;
        }

        string? error = CheckAttention(fuzz, run, coverage) ?? CheckAttentionBackward(fuzz, run, coverage) ?? CheckFeedForward(fuzz, run, coverage) ?? CheckProjection(fuzz, run, coverage);
        if (error is not null)
        {
            failures.Add($"{name}: {error}");
            return;
        }

        coverage.GenericChecked++;
    }

    /// <summary>Plain and masked attention against the reference, and the generic kernel against both.</summary>
    private static string? CheckAttention(FuzzShape fuzz, Runners run, Coverage coverage)
    {
        TransformerShape shape = fuzz.Shape;
        int s = shape.SequenceLength, e = shape.EmbeddingDim;
        // Every degree of parallelism gives the same bits (SchedulingTests); -1 also reaches the parallel path of
        // the larger shapes.
        var a = TestData.Attention(shape, fuzz.Batch, fuzz.DataSeed);
        var output = new float[a.Q.Length];
        run.Attention(fuzz.Index, a.Q, a.K, a.V, output, -1);
        coverage.Attention++;

        // Key counts per sequence: none (a row of -inf), all (no mask), or any count between, a third each.
        var random = new Random(fuzz.DataSeed);
        int[] keyCounts = Enumerable.Range(0, fuzz.Batch).Select(_ => random.Next(3) switch { 0 => 0, 1 => s, _ => random.Next(s + 1) }).ToArray();
        var masked = new float[a.Q.Length];
        run.MaskedAttention(fuzz.Index, a.Q, a.K, a.V, keyCounts, masked, -1);
        coverage.MaskedAttention++;
        foreach (int keyCount in keyCounts)
        {
            coverage.MaskedSequences++;
            coverage.MaskedNoKey += keyCount == 0 ? 1 : 0;
            coverage.MaskedAllKeys += keyCount == s ? 1 : 0;
            coverage.MaskedPartial += keyCount > 0 && keyCount < s ? 1 : 0;
        }

        for (int sequence = 0; sequence < fuzz.Batch; sequence++)
        {
            foreach (int row in Reference.SampleRows(s))
            {
                int offset = (sequence * s + row) * e;
                string? error =
                    Compare("attention", Reference.AttentionRow(shape, a.Q, a.K, a.V, sequence, row), output, offset, Tolerances.AttentionAbsolute, Tolerances.AttentionRelative)
                    ?? Compare($"masked attention (key count {keyCounts[sequence]})", Reference.AttentionRow(shape, a.Q, a.K, a.V, sequence, row, keyCounts[sequence]), masked, offset, Tolerances.AttentionAbsolute, Tolerances.AttentionRelative);
                if (error is not null)
                {
                    return $"sequence {sequence}, row {row}: {error}";
                }
            }
        }

        var generic = new float[a.Q.Length];
        GenericKernels.Attention(shape, a.Q, a.K, a.V, generic, -1);
        var genericMasked = new float[a.Q.Length];
        GenericKernels.Attention(shape, a.Q, a.K, a.V, keyCounts, genericMasked, -1);
        return CompareEngines("attention", output, generic) ?? CompareEngines("masked attention", masked, genericMasked);
    }

    /// <summary>
    /// The float64 backward pass costs about 6·batch·Heads·T²·HeadDim operations; above this the shape's attention
    /// backward is left to the kernel tests' shapes (the small shapes and most large ones stay under it).
    /// </summary>
    private const long BackwardReferenceBudget = 40_000_000;

    /// <summary>
    /// AttentionForTraining and AttentionBackward with a random key-padding mask against the float64 backward pass: the
    /// output, the log-sum-exps and dQ, dK, dV, each within 2e-5 of its tensor's largest magnitude (the kernel tests' bound).
    /// </summary>
    private static string? CheckAttentionBackward(FuzzShape fuzz, Runners run, Coverage coverage)
    {
        TransformerShape shape = fuzz.Shape;
        int s = shape.SequenceLength;
        if (6L * fuzz.Batch * s * s * shape.EmbeddingDim > BackwardReferenceBudget)
        {
            return null;
        }

        var a = TestData.Attention(shape, fuzz.Batch, fuzz.DataSeed + 3);
        float[] dO = TestData.Uniform(a.Q.Length, fuzz.DataSeed + 4);
        var random = new Random(fuzz.DataSeed + 5);
        int[] keyCounts = Enumerable.Range(0, fuzz.Batch).Select(_ => random.Next(3) switch { 0 => 0, 1 => s, _ => random.Next(s + 1) }).ToArray();
        float[] output = new float[a.Q.Length], logSumExp = new float[fuzz.Batch * shape.Heads * s];
        float[] dQ = new float[a.Q.Length], dK = new float[a.Q.Length], dV = new float[a.Q.Length];
        run.AttentionBackward(fuzz.Index, a.Q, a.K, a.V, keyCounts, output, logSumExp, dO, dQ, dK, dV, -1);
        coverage.AttentionBackward++;

        var want = FixedShapeAttention.Tests.Training.ReferenceAttentionGradients.Compute(shape, fuzz.Batch, a.Q, a.K, a.V, dO, keyCounts);
        return CompareNormwise("training attention output", want.Output, output)
            ?? CompareNormwise("log-sum-exp", want.LogSumExp, logSumExp)
            ?? CompareNormwise("dQ", want.QueryGradient, dQ)
            ?? CompareNormwise("dK", want.KeyGradient, dK)
            ?? CompareNormwise("dV", want.ValueGradient, dV);
    }

    /// <summary>
    /// Null when every element is within 2e-6 + 2e-5·(the largest finite |want|) (infinite wants must match exactly), else
    /// what is wrong. The absolute term is the attention tolerance: a gradient that is exactly 0 (one visible key, so P is 1
    /// and dS is 0) comes out as float rounding noise of ~1e-8.
    /// </summary>
    private static string? CompareNormwise(string what, double[] want, float[] got)
    {
        double scale = want.Where(double.IsFinite).Select(Math.Abs).DefaultIfEmpty(0).Max();
        for (int i = 0; i < want.Length; i++)
        {
            bool ok = double.IsFinite(want[i]) ? Math.Abs(got[i] - want[i]) <= Tolerances.AttentionAbsolute + 2e-5 * scale : got[i] == want[i];
            if (!ok)
            {
                return $"{what}[{i}]: got {got[i]:G9}, want {want[i]:G9} (largest |want| {scale:G3})";
            }
        }

        return null;
    }

    /// <summary>The feed-forward network on raw spans and on packed weights against the reference; packed must give the raw bits.</summary>
    private static string? CheckFeedForward(FuzzShape fuzz, Runners run, Coverage coverage)
    {
        TransformerShape shape = fuzz.Shape;
        var f = TestData.FeedForward(shape, fuzz.Batch, fuzz.DataSeed + 7);
        var y = new float[f.X.Length];
        run.FeedForward(fuzz.Index, f.X, f.W1, f.B1, f.W2, f.B2, y, -1);
        coverage.FeedForward++;
        PackedFeedForwardWeights weights = run.PackFeedForward(fuzz.Index, f.W1, f.B1, f.W2, f.B2);
        var packed = new float[f.X.Length];
        run.PackedFeedForward(fuzz.Index, f.X, weights, packed, -1);
        coverage.PackedFeedForward++;

        int e = shape.EmbeddingDim;
        for (int sequence = 0; sequence < fuzz.Batch; sequence++)
        {
            foreach (int row in Reference.SampleRows(shape.SequenceLength))
            {
                int globalRow = sequence * shape.SequenceLength + row;
                double[] expected = Reference.FeedForwardRow(shape, f.X, f.W1, f.B1, f.W2, f.B2, globalRow);
                string? error =
                    Compare("feed-forward", expected, y, globalRow * e, Tolerances.FeedForwardAbsolute, Tolerances.FeedForwardRelative)
                    ?? Compare("packed feed-forward", expected, packed, globalRow * e, Tolerances.FeedForwardAbsolute, Tolerances.FeedForwardRelative);
                if (error is not null)
                {
                    return $"sequence {sequence}, row {row}: {error}";
                }
            }
        }

        var generic = new float[f.X.Length];
        GenericKernels.FeedForward(shape, f.X, f.W1, f.B1, f.W2, f.B2, generic, -1);
        return CompareEngines("packed feed-forward vs raw", y, packed, 0) ?? CompareEngines("feed-forward", y, generic);
    }

    /// <summary>The projection on raw spans and on packed weights against the reference; packed must give the raw bits.</summary>
    private static string? CheckProjection(FuzzShape fuzz, Runners run, Coverage coverage)
    {
        TransformerShape shape = fuzz.Shape;
        int e = shape.EmbeddingDim;
        float[] x = TestData.Uniform(fuzz.Batch * shape.SequenceElements, fuzz.DataSeed + 11);
        float[] w = TestData.Uniform(e * e, fuzz.DataSeed + 12, (float)Math.Sqrt(3.0 / e));
        float[] b = TestData.Uniform(e, fuzz.DataSeed + 13, 0.1f);
        var y = new float[x.Length];
        run.Project(fuzz.Index, x, w, b, y, -1);
        coverage.Projection++;
        PackedProjectionWeights weights = run.PackProjection(fuzz.Index, w, b);
        var packed = new float[x.Length];
        run.PackedProject(fuzz.Index, x, weights, packed, -1);
        coverage.PackedProjection++;

        for (int sequence = 0; sequence < fuzz.Batch; sequence++)
        {
            foreach (int row in Reference.SampleRows(shape.SequenceLength))
            {
                int globalRow = sequence * shape.SequenceLength + row;
                double[] expected = Reference.ProjectionRow(e, x, w, b, globalRow);
                // A projection is the second layer of a feed-forward network without the first: its tolerance covers it.
                string? error =
                    Compare("projection", expected, y, globalRow * e, Tolerances.FeedForwardAbsolute, Tolerances.FeedForwardRelative)
                    ?? Compare("packed projection", expected, packed, globalRow * e, Tolerances.FeedForwardAbsolute, Tolerances.FeedForwardRelative);
                if (error is not null)
                {
                    return $"sequence {sequence}, row {row}: {error}";
                }
            }
        }

        var generic = new float[x.Length];
        GenericKernels.Project(shape, x, w, b, generic, -1);
        return CompareEngines("packed projection vs raw", y, packed, 0) ?? CompareEngines("projection", y, generic);
    }

    /// <summary>Null when the row is within |got − want| ≤ absolute + relative·|want|, else what is wrong.</summary>
    private static string? Compare(string kernel, double[] expected, float[] actual, int offset, double absolute, double relative)
    {
        for (int c = 0; c < expected.Length; c++)
        {
            double got = actual[offset + c];
            double tolerance = absolute + relative * Math.Abs(expected[c]);
            if (!(Math.Abs(got - expected[c]) <= tolerance))
            {
                return $"{kernel} column {c}: got {got:R}, expected {expected[c]:R} (tolerance {tolerance:E2})";
            }
        }

        return null;
    }

    /// <summary>Null when every element of <paramref name="other"/> is within <paramref name="ulps"/> of the generated
    /// kernel's (by default the engines' tolerance), else the first that is not.</summary>
    private static string? CompareEngines(string kernel, float[] generated, float[] other, long ulps = Tolerances.EngineUlps)
    {
        for (int i = 0; i < generated.Length; i++)
        {
            long distance = Tolerances.UlpDistance(generated[i], other[i]);
            if (distance > ulps)
            {
                return $"{kernel}: element {i} is {generated[i]:R} generated but {other[i]:R} ({distance} ulp apart, {ulps} allowed)";
            }
        }

        return null;
    }
}
