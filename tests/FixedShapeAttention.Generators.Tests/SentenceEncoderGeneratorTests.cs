using System.Collections.Immutable;
using System.Linq;
using FixedShapeAttention.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace FixedShapeAttention.Generators.Tests;

/// <summary>
/// The <c>[SentenceEncoderShape]</c> pipeline: its output (snapshot, compiled, and the bucket kernels identical to the
/// <c>[TransformerShape]</c> path's), one diagnostic test per id it reports, no exception on any half-typed attribute,
/// and incrementality per step.
/// </summary>
public sealed class SentenceEncoderGeneratorTests
{
    private const string Header = "using FixedShapeAttention;\nusing FixedShapeAttention.Models;\nnamespace Demo;\n";

    private const string SmallEncoder =
        Header +
        "\n" +
        "[SentenceEncoderShape(32, 4, 64, MaxLength = 64, Buckets = new[] { 16, 64 })]\n" +
        "public sealed partial class SmallEncoder;\n";

    private static readonly string[] s_steps =
    {
        SentenceEncoderTrackingNames.Parse, SentenceEncoderTrackingNames.Diagnostics, SentenceEncoderTrackingNames.Output, SentenceEncoderTrackingNames.BucketShapes,
    };

    /// <summary>The harness's references plus FixedShapeAttention.Models, where the attribute and the interface live.</summary>
    private static readonly System.Lazy<ImmutableArray<MetadataReference>> s_references = new(() =>
        GeneratorHarness.References.Add(MetadataReference.CreateFromFile(typeof(FixedShapeAttention.Models.SentenceEncoderShapeAttribute).Assembly.Location)));

    private static CSharpCompilation Compilation(params string[] sources) =>
        CSharpCompilation.Create(
            "SentenceEncoderTestAssembly",
            sources.Select((source, i) => GeneratorHarness.Parse(source, $"Source{i}.cs")),
            s_references.Value,
            GeneratorHarness.CompilationOptions);

    private static GeneratorRun Run(params string[] sources) => GeneratorHarness.Run(Compilation(sources));

    [Fact]
    public void Encoder_source_matches_its_snapshot_and_everything_generated_compiles()
    {
        GeneratorRun run = Run(SmallEncoder);

        Assert.Empty(run.DriverDiagnostics);
        Assert.Equal(
            new[]
            {
                "Demo.SmallEncoder.SentenceEncoder.g.cs",
                "Demo.SmallEncoder.Seq16.Attention.g.cs", "Demo.SmallEncoder.Seq16.FeedForward.g.cs", "Demo.SmallEncoder.Seq16.Projection.g.cs", "Demo.SmallEncoder.Seq16.Shape.g.cs",
                "Demo.SmallEncoder.Seq64.Attention.g.cs", "Demo.SmallEncoder.Seq64.FeedForward.g.cs", "Demo.SmallEncoder.Seq64.Projection.g.cs", "Demo.SmallEncoder.Seq64.Shape.g.cs",
            },
            run.Sources.Keys);
        SnapshotAssert.Matches(run.Sources["Demo.SmallEncoder.SentenceEncoder.g.cs"], nameof(SentenceEncoderGeneratorTests), "SmallEncoder", "Demo.SmallEncoder.SentenceEncoder.g.cs");
        GeneratorHarness.AssertGeneratedCodeCompiles(run);
    }

    [Fact]
    public void Bucket_kernels_are_the_kernels_TransformerShape_emits_for_the_same_shape()
    {
        GeneratorRun encoder = Run(SmallEncoder);
        GeneratorRun kernels = Run(Header + "public sealed partial class SmallEncoder\n{\n    [TransformerShape(16, 32, 64, Heads = 4, Activation = Activation.Gelu)]\n    private sealed partial class Seq16;\n}\n");

        foreach (string kind in new[] { "Shape", "Attention", "FeedForward", "Projection" })
        {
            string hint = $"Demo.SmallEncoder.Seq16.{kind}.g.cs";
            Assert.Equal(kernels.Sources[hint], encoder.Sources[hint]);
        }
    }

    [Fact]
    public void Default_buckets_double_from_16_up_to_MaxLength()
    {
        Assert.Equal(new[] { 16, 32, 64, 128, 256, 512 }, TransformerShapeGenerator.DefaultBuckets(512));
        Assert.Equal(new[] { 16, 32, 64, 100 }, TransformerShapeGenerator.DefaultBuckets(100));
        Assert.Equal(new[] { 12 }, TransformerShapeGenerator.DefaultBuckets(12));
        GeneratorRun run = Run(Header + "[SentenceEncoderShape(32, 4, 64, MaxLength = 40)]\npublic partial class Defaults;\n");
        Assert.Contains("new int[] { 16, 32, 40 }", run.Sources["Demo.Defaults.SentenceEncoder.g.cs"], System.StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[SentenceEncoderShape(0, 4, 64)]", "0", "FSA0001", "HiddenSize must be at least 1, but is 0")]
    [InlineData("[SentenceEncoderShape(32, 5, 64)]", "5", "FSA0002", "Heads = 5 does not divide EmbeddingDim = 32")]
    [InlineData("[SentenceEncoderShape(32, 4, ffnWidth: -1)]", "ffnWidth: -1", "FSA0001", "FfnWidth must be at least 1, but is -1")]
    [InlineData("[SentenceEncoderShape(32, 4, 64, MaxLength = 9000)]", "MaxLength = 9000", "FSA0006", "MaxLength = 9000 is above the supported maximum of 8192")]
    [InlineData("[SentenceEncoderShape(32, 4, 64, Activation = (Activation)9)]", "Activation = (Activation)9", "FSA0008", "Activation = 9")]
    [InlineData("[SentenceEncoderShape(32, 4, 64, MaxLength = 64, Buckets = new[] { 32, 16, 64 })]", "Buckets = new[] { 32, 16, 64 }", "FSA0101", "Buckets = [32, 16, 64]")]
    [InlineData("[SentenceEncoderShape(32, 4, 64, MaxLength = 64, Buckets = new int[0])]", "Buckets = new int[0]", "FSA0101", "Buckets = []")]
    [InlineData("[SentenceEncoderShape(32, 4, 64, MaxLength = 64, Buckets = new[] { 1, 64 })]", "Buckets = new[] { 1, 64 }", "FSA0101", "Buckets = [1, 64]")]
    [InlineData("[SentenceEncoderShape(32, 4, 64, MaxLength = 64, Buckets = new[] { 16, 32 })]", "Buckets = new[] { 16, 32 }", "FSA0102", "The largest bucket, 32, must equal MaxLength = 64")]
    [InlineData("[SentenceEncoderShape(32, 4, 64, MaxLength = 17, Buckets = new[] { 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17 , 18 })]", "Buckets = new[] { 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17 , 18 }", "FSA0103", "Buckets lists 17 lengths; at most 16")]
    [InlineData("[SentenceEncoderShape(32, 4, 64, MaxLength = 1)]", "MaxLength = 1", "FSA0106", "MaxLength = 1 is below 2")]
    public void Invalid_values_report_one_diagnostic_at_the_argument(string attribute, string span, string id, string message)
    {
        AssertSingleDiagnostic(id, attribute + "\npublic partial class C;", span, message);
    }

    [Theory]
    [InlineData("[SentenceEncoderShape(32, 4, 64)]\npublic class NotPartial;", "FSA0003", "'NotPartial'")]
    [InlineData("[SentenceEncoderShape(32, 4, 64)]\npublic static partial class Static;", "FSA0004", "'Static' is static")]
    [InlineData("[SentenceEncoderShape(32, 4, 64)]\npublic partial class Generic<T>;", "FSA0005", "'Demo.Generic<T>'")]
    [InlineData("public class Outer\n{\n    [SentenceEncoderShape(32, 4, 64)]\n    public partial class Inner;\n}", "FSA0007", "'Outer'")]
    [InlineData("[SentenceEncoderShape(32, 4, 64)]\n[TransformerShape(16, 32, 64)]\npublic partial class Both;", "FSA0104", "'Both' carries both")]
    [InlineData("[SentenceEncoderShape(32, 4, 64)]\npublic partial class Heads;", "FSA0105", "'Heads'")]
    [InlineData("[SentenceEncoderShape(32, 4, 64)]\npublic partial class Seq16;", "FSA0105", "'Seq16'")]
    public void Invalid_declarations_report_one_diagnostic_at_the_attribute(string declaration, string id, string message)
    {
        AssertSingleDiagnostic(id, declaration, "SentenceEncoderShape(32, 4, 64)", message);
    }

    private static void AssertSingleDiagnostic(string id, string declaration, string expectedSpanText, string expectedMessagePart)
    {
        string source = Header + declaration + "\n";
        GeneratorRun run = Run(source);

        Diagnostic diagnostic = Assert.Single(run.GeneratorDiagnostics);
        Assert.Equal(id, diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        string message = diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(message.Contains(expectedMessagePart, System.StringComparison.Ordinal), $"The message \"{message}\" does not contain \"{expectedMessagePart}\".");
        Assert.Equal("Source0.cs", diagnostic.Location.GetLineSpan().Path);
        Microsoft.CodeAnalysis.Text.TextSpan span = diagnostic.Location.SourceSpan;
        Assert.Equal(expectedSpanText, source.Substring(span.Start, span.Length));
        Assert.DoesNotContain(run.Sources.Keys, hint => hint.Contains(".SentenceEncoder.", System.StringComparison.Ordinal) || hint.Contains(".Seq", System.StringComparison.Ordinal));
    }

    private const string FullUsage =
        "using FixedShapeAttention; using FixedShapeAttention.Models; namespace Demo; [SentenceEncoderShape(32, 4, 64, Activation = Activation.Gelu, MaxLength = 64, Buckets = new[] { 16, 64 })] public partial class C { }";

    public static TheoryData<int> PrefixLengths => new(Enumerable.Range(0, FullUsage.Length + 1).Where(length => length % 3 == 0 || length == FullUsage.Length));

    [Theory]
    [MemberData(nameof(PrefixLengths))]
    public void Generator_does_not_throw_on_any_prefix_of_an_attribute_usage(int length)
    {
        GeneratorRun run = Run(FullUsage[..length]);
        Assert.DoesNotContain(run.DriverDiagnostics, d => d.Id == "CS8785");
        Assert.Null(run.Result.Exception);
    }

    [Fact]
    public void First_run_reports_every_step_as_new_and_one_shape_per_bucket()
    {
        GeneratorRun run = Run(SmallEncoder);
        foreach (string step in s_steps)
        {
            var outputs = run.StepOutputs(step).ToArray();
            Assert.Equal(step == SentenceEncoderTrackingNames.BucketShapes ? 2 : 1, outputs.Length);
            Assert.All(outputs, output => Assert.Equal(IncrementalStepRunReason.New, output.Reason));
        }

        Assert.Equal(new[] { 16, 64 }, run.StepOutputs(SentenceEncoderTrackingNames.BucketShapes).Select(o => ((ShapeSpec)o.Value).SequenceLength));
    }

    [Fact]
    public void Rerun_on_a_cloned_compilation_caches_every_step()
    {
        CSharpCompilation compilation = Compilation(SmallEncoder);
        GeneratorRun first = GeneratorHarness.Run(compilation);
        GeneratorRun second = GeneratorHarness.Run(compilation.Clone(), first.Driver);

        Assert.All(s_steps, step => AssertNotRecomputed(second, step));
        Assert.Equal(first.Sources, second.Sources);
    }

    [Fact]
    public void Unrelated_edits_and_moving_the_declaration_do_not_re_emit()
    {
        CSharpCompilation compilation = Compilation(SmallEncoder, "namespace Demo;\npublic static class Other { }\n");
        GeneratorRun first = GeneratorHarness.Run(compilation);

        CSharpCompilation edited = Replace(compilation, "Source1.cs", "namespace Demo;\npublic static class Other { public static int Value = 42; }\n");
        GeneratorRun second = GeneratorHarness.Run(edited, first.Driver);
        AssertNotRecomputed(second, SentenceEncoderTrackingNames.Output);
        AssertNotRecomputed(second, SentenceEncoderTrackingNames.BucketShapes);

        GeneratorRun third = GeneratorHarness.Run(Replace(edited, "Source0.cs", SmallEncoder.Replace("namespace Demo;\n", "namespace Demo;\n\n// moved\n\n")), second.Driver);
        AssertNotRecomputed(third, SentenceEncoderTrackingNames.Parse);
        AssertNotRecomputed(third, SentenceEncoderTrackingNames.BucketShapes);
        Assert.Equal(first.Sources, third.Sources);
    }

    [Fact]
    public void Changing_one_bucket_re_emits_that_bucket_only()
    {
        CSharpCompilation compilation = Compilation(SmallEncoder);
        GeneratorRun first = GeneratorHarness.Run(compilation);

        GeneratorRun second = GeneratorHarness.Run(Replace(compilation, "Source0.cs", SmallEncoder.Replace("{ 16, 64 }", "{ 32, 64 }")), first.Driver);

        Assert.Equal(IncrementalStepRunReason.Modified, Assert.Single(second.StepOutputs(SentenceEncoderTrackingNames.Output)).Reason);
        var buckets = second.StepOutputs(SentenceEncoderTrackingNames.BucketShapes).ToArray();
        Assert.Equal(2, buckets.Length);
        Assert.Contains(buckets, b => ((ShapeSpec)b.Value).SequenceLength == 64 && b.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged);
        Assert.Contains(buckets, b => ((ShapeSpec)b.Value).SequenceLength == 32 && b.Reason is IncrementalStepRunReason.Modified or IncrementalStepRunReason.New);
        Assert.Contains("Demo.SmallEncoder.Seq32.Attention.g.cs", second.Sources.Keys);
        Assert.DoesNotContain("Demo.SmallEncoder.Seq16.Attention.g.cs", second.Sources.Keys);
    }

    private static CSharpCompilation Replace(CSharpCompilation compilation, string path, string text)
    {
        SyntaxTree old = compilation.SyntaxTrees.Single(t => t.FilePath == path);
        return compilation.ReplaceSyntaxTree(old, GeneratorHarness.Parse(text, path));
    }

    private static void AssertNotRecomputed(GeneratorRun run, string step)
    {
        var outputs = run.StepOutputs(step).ToArray();
        Assert.True(outputs.Length > 0, $"Step {step} has no outputs in this run; nothing was checked.");
        Assert.All(outputs, output => Assert.True(
            output.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
            $"Step {step} was recomputed ({output.Reason}); expected Cached or Unchanged."));
    }
}
