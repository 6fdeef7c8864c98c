using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using System.Text;
using FixedShapeAttention.Tests;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;
using Xunit;

namespace FixedShapeAttention.Generators.Tests;

/// <summary>
/// Random shapes through the real generator, end to end: one compilation holds every shape, the generator runs over
/// it, the output is emitted (Release), loaded into a collectible AssemblyLoadContext, and each shape's generated
/// <c>Attention</c> and <c>FeedForward</c> run on seeded data against the float64 reference of the kernel tests.
/// The snapshot and variant tests pin a handful of shapes; this covers the planner's decisions (unroll or block,
/// row and column tails, lanes, heads, causal, activation) across the space users actually declare.
/// </summary>
public sealed class ShapeFuzzTests
{
    internal const int DefaultShapeCount = 500;

    /// <summary>One random shape and the data it runs on. <see cref="Attribute"/> is what to paste to reproduce it alone.</summary>
    internal sealed record FuzzShape(int Index, TransformerShape Shape, int Batch, int DataSeed)
    {
        public string ClassName => $"Shape_{Index}";

        public string Attribute =>
            $"[TransformerShape({Shape.SequenceLength}, {Shape.EmbeddingDim}, {Shape.FfnDim}, Heads = {Shape.Heads}, " +
            $"Causal = {(Shape.Causal ? "true" : "false")}, Activation = Activation.{Shape.Activation})]";
    }

    // The generated code is called through this class, compiled with the shapes: plain float[] parameters (spans
    // cannot go through reflection or a closed delegate type shared across load contexts) and an int that picks
    // the shape, so the test builds three delegates in all instead of three per shape.
    private delegate void AttentionRunner(int shape, float[] q, float[] k, float[] v, float[] output, int maxDegreeOfParallelism);

    private delegate void FeedForwardRunner(int shape, float[] x, float[] w1, float[] b1, float[] w2, float[] b2, float[] y, int maxDegreeOfParallelism);

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
        try
        {
            Type runner = context.LoadFromStream(new MemoryStream(image)).GetType("Fuzz.Runner", throwOnError: true)!;
            var shapeOf = Bind<Func<int, TransformerShape>>(runner, "Shape");
            var attention = Bind<AttentionRunner>(runner, "Attention");
            var feedForward = Bind<FeedForwardRunner>(runner, "FeedForward");
            foreach (FuzzShape shape in shapes)
            {
                Check(shape, shapeOf, attention, feedForward, failures);
            }
        }
        finally
        {
            // Nothing of the fuzz assembly may outlive the test: its delegates are locals of the try block.
            context.Unload();
        }

        FuzzSettings.Log($"shape fuzz: generator + compile {compileTime.TotalSeconds:F1} s, kernels vs reference {(clock.Elapsed - compileTime).TotalSeconds:F1} s");
        Assert.True(
            failures.Count == 0,
            $"{failures.Count} of {count} shapes disagree with the reference ({replay}):\n" + string.Join("\n", failures.Take(20)));
    }

    /// <summary>seq 1–96, dim 1–160, heads a divisor of dim, ffn 1–320, causal and activation uniform, batch 1 or 2.</summary>
    internal static FuzzShape[] RandomShapes(int seed, int count)
    {
        var random = new Random(seed);
        var shapes = new FuzzShape[count];
        Activation[] activations = Enum.GetValues<Activation>();
        for (int i = 0; i < count; i++)
        {
            int sequenceLength = random.Next(1, 97);
            int embeddingDim = random.Next(1, 161);
            int[] divisors = Enumerable.Range(1, embeddingDim).Where(h => embeddingDim % h == 0).ToArray();
            int heads = divisors[random.Next(divisors.Length)];
            int ffnDim = random.Next(1, 321);
            bool causal = random.Next(2) == 1;
            Activation activation = activations[random.Next(activations.Length)];
            var shape = new TransformerShape(sequenceLength, embeddingDim, ffnDim, heads, causal, activation);
            shapes[i] = new FuzzShape(i, shape, Batch: random.Next(1, 3), DataSeed: random.Next(1 << 30));
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
        source.Append("    public static TransformerShape Shape(int shape) => shape switch\n    {\n");
        foreach (FuzzShape shape in shapes)
        {
            source.Append($"        {shape.Index} => {shape.ClassName}.Shape,\n");
        }

        source.Append("        _ => throw new System.ArgumentOutOfRangeException(nameof(shape)),\n    };\n\n");

        source.Append("    public static void Attention(int shape, float[] q, float[] k, float[] v, float[] output, int maxDegreeOfParallelism)\n    {\n        switch (shape)\n        {\n");
        foreach (FuzzShape shape in shapes)
        {
            source.Append($"            case {shape.Index}: {shape.ClassName}.Attention(q, k, v, output, maxDegreeOfParallelism); break;\n");
        }

        source.Append("            default: throw new System.ArgumentOutOfRangeException(nameof(shape));\n        }\n    }\n\n");

        source.Append("    public static void FeedForward(int shape, float[] x, float[] w1, float[] b1, float[] w2, float[] b2, float[] y, int maxDegreeOfParallelism)\n    {\n        switch (shape)\n        {\n");
        foreach (FuzzShape shape in shapes)
        {
            source.Append($"            case {shape.Index}: {shape.ClassName}.FeedForward(x, w1, b1, w2, b2, y, maxDegreeOfParallelism); break;\n");
        }

        source.Append("            default: throw new System.ArgumentOutOfRangeException(nameof(shape));\n        }\n    }\n}\n");
    }

    private static TDelegate Bind<TDelegate>(Type runner, string name)
        where TDelegate : Delegate =>
        runner.GetMethod(name, BindingFlags.Public | BindingFlags.Static)!.CreateDelegate<TDelegate>();

    /// <summary>Runs one shape's kernels and records each disagreement with the reference as a line naming the shape.</summary>
    private static void Check(FuzzShape fuzz, Func<int, TransformerShape> shapeOf, AttentionRunner attention, FeedForwardRunner feedForward, List<string> failures)
    {
        TransformerShape shape = fuzz.Shape;
        string name = $"{fuzz.ClassName} {fuzz.Attribute}, batch {fuzz.Batch}";
        if (shapeOf(fuzz.Index) != shape)
        {
            failures.Add($"{name}: the generated Shape is {shapeOf(fuzz.Index)}");
            return;
        }

        // Every degree of parallelism gives the same bits (SchedulingTests); -1 also reaches the parallel path of
        // the larger shapes, whose FFN is above the 250 kFLOP threshold.
        var a = TestData.Attention(shape, fuzz.Batch, fuzz.DataSeed);
        var output = new float[a.Q.Length];
        attention(fuzz.Index, a.Q, a.K, a.V, output, -1);
        var f = TestData.FeedForward(shape, fuzz.Batch, fuzz.DataSeed + 7);
        var y = new float[f.X.Length];
        feedForward(fuzz.Index, f.X, f.W1, f.B1, f.W2, f.B2, y, -1);

        int e = shape.EmbeddingDim;
        for (int sequence = 0; sequence < fuzz.Batch; sequence++)
        {
            foreach (int row in Reference.SampleRows(shape.SequenceLength))
            {
                int globalRow = sequence * shape.SequenceLength + row;
                string? error =
                    Compare("attention", Reference.AttentionRow(shape, a.Q, a.K, a.V, sequence, row), output, globalRow * e, Tolerances.AttentionAbsolute, Tolerances.AttentionRelative)
                    ?? Compare("feed-forward", Reference.FeedForwardRow(shape, f.X, f.W1, f.B1, f.W2, f.B2, globalRow), y, globalRow * e, Tolerances.FeedForwardAbsolute, Tolerances.FeedForwardRelative);
                if (error is not null)
                {
                    failures.Add($"{name}: sequence {sequence}, row {row}: {error}");
                    return;
                }
            }
        }
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
}
