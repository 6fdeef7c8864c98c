using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace FixedShapeAttention.Generators.Tests;

/// <summary>
/// The pipeline's cache contract, read from the driver's tracked steps (NetEscapades.EnumGenerators' TestHelpers,
/// ComputeSharp): an edit that does not change a shape must not re-run planning and emission, which are the
/// expensive part. "Cached" means the step did not run; "Unchanged" means it ran and produced an equal value, so
/// the steps after it were cached.
/// </summary>
public sealed class IncrementalityTests
{
    // Explicit \n (not a raw literal, whose line endings follow the checkout) so the text edits below always apply.
    private const string ShapeFile =
        "using FixedShapeAttention;\n" +
        "\n" +
        "namespace Demo;\n" +
        "\n" +
        "[TransformerShape(128, 384, 1536, Heads = 12)]\n" +
        "public partial class MiniLm { }\n";

    private static readonly string[] s_allSteps = { TrackingNames.Parse, TrackingNames.Diagnostics, TrackingNames.Output };

    [Fact]
    public void First_run_reports_every_step_as_new()
    {
        // Guards the other tests: if a tracking name were wrong they would check an empty list.
        GeneratorRun run = GeneratorHarness.Run(ShapeFile);

        foreach (string step in s_allSteps)
        {
            var outputs = run.StepOutputs(step).ToArray();
            Assert.True(outputs.Length == 1, $"Step {step}: expected one output, got {outputs.Length}.");
            Assert.Equal(IncrementalStepRunReason.New, outputs[0].Reason);
        }
    }

    [Fact]
    public void Rerun_on_a_cloned_compilation_caches_every_step()
    {
        CSharpCompilation compilation = GeneratorHarness.CreateCompilation(ShapeFile);
        GeneratorRun first = GeneratorHarness.Run(compilation);

        GeneratorRun second = GeneratorHarness.Run(compilation.Clone(), first.Driver);

        foreach (string step in s_allSteps)
        {
            AssertNotRecomputed(second, step);
        }

        Assert.Equal(first.Sources, second.Sources);
    }

    [Fact]
    public void Adding_an_unrelated_file_does_not_re_emit()
    {
        CSharpCompilation compilation = GeneratorHarness.CreateCompilation(ShapeFile);
        GeneratorRun first = GeneratorHarness.Run(compilation);

        CSharpCompilation edited = compilation.AddSyntaxTrees(
            GeneratorHarness.Parse("namespace Demo;\npublic sealed class Tokenizer { public int Count => 3; }\n", "Tokenizer.cs"));
        GeneratorRun second = GeneratorHarness.Run(edited, first.Driver);

        AssertNotRecomputed(second, TrackingNames.Output);
        Assert.Equal(first.Sources, second.Sources);
    }

    [Fact]
    public void Editing_another_file_does_not_re_emit()
    {
        CSharpCompilation compilation = GeneratorHarness.CreateCompilation(ShapeFile, "namespace Demo;\npublic static class Other { }\n");
        GeneratorRun first = GeneratorHarness.Run(compilation);

        SyntaxTree other = compilation.SyntaxTrees.Single(t => t.FilePath == "Source1.cs");
        CSharpCompilation edited = compilation.ReplaceSyntaxTree(
            other, GeneratorHarness.Parse("namespace Demo;\npublic static class Other { public static int Value = 42; }\n", "Source1.cs"));
        GeneratorRun second = GeneratorHarness.Run(edited, first.Driver);

        AssertNotRecomputed(second, TrackingNames.Output);
        Assert.Equal(first.Sources, second.Sources);
    }

    [Fact]
    public void Changing_an_attribute_argument_re_emits()
    {
        CSharpCompilation compilation = GeneratorHarness.CreateCompilation(ShapeFile);
        GeneratorRun first = GeneratorHarness.Run(compilation);

        GeneratorRun second = GeneratorHarness.Run(ReplaceShapeFile(compilation, ShapeFile.Replace("(128, 384", "(64, 384")), first.Driver);

        Assert.Contains(second.StepOutputs(TrackingNames.Output), output => output.Reason == IncrementalStepRunReason.Modified);
        string attention = second.Sources["Demo.MiniLm.Attention.g.cs"];
        Assert.NotEqual(first.Sources["Demo.MiniLm.Attention.g.cs"], attention);
        Assert.Contains("SequenceLength 64,", attention);
    }

    [Fact]
    public void Moving_the_declaration_within_its_file_does_not_re_emit()
    {
        CSharpCompilation compilation = GeneratorHarness.CreateCompilation(ShapeFile);
        GeneratorRun first = GeneratorHarness.Run(compilation);

        string moved = ShapeFile.Replace("namespace Demo;\n", "namespace Demo;\n\n\n// The layer shape of all-MiniLM-L6-v2.\n");
        Assert.NotEqual(ShapeFile, moved);
        GeneratorRun second = GeneratorHarness.Run(ReplaceShapeFile(compilation, moved), first.Driver);

        // The shape carries no location, so the parse result is equal and nothing downstream runs.
        AssertNotRecomputed(second, TrackingNames.Parse);
        AssertNotRecomputed(second, TrackingNames.Output);
        Assert.Equal(first.Sources, second.Sources);
    }

    // The reason Diagnostics and Output are separate steps: a moved invalid declaration re-reports its diagnostic at the
    // new line, while the valid shape next to it is not re-emitted.
    [Fact]
    public void Moving_an_invalid_declaration_re_reports_its_diagnostic_without_re_emitting()
    {
        string file = ShapeFile + "\n\n[TransformerShape(0, 3, 12)]\npublic partial class Broken { }\n";
        CSharpCompilation compilation = GeneratorHarness.CreateCompilation(file);
        GeneratorRun first = GeneratorHarness.Run(compilation);

        GeneratorRun second = GeneratorHarness.Run(ReplaceShapeFile(compilation, "// moved down two lines\n\n" + file), first.Driver);

        Assert.Contains(second.StepOutputs(TrackingNames.Diagnostics), output => output.Reason == IncrementalStepRunReason.Modified);
        AssertNotRecomputed(second, TrackingNames.Output);
        Assert.Equal(first.Sources, second.Sources);
        int firstLine = Assert.Single(first.GeneratorDiagnostics).Location.GetLineSpan().StartLinePosition.Line;
        int secondLine = Assert.Single(second.GeneratorDiagnostics).Location.GetLineSpan().StartLinePosition.Line;
        Assert.Equal(firstLine + 2, secondLine);
    }

    private static CSharpCompilation ReplaceShapeFile(CSharpCompilation compilation, string text)
    {
        SyntaxTree old = compilation.SyntaxTrees.Single(t => t.FilePath == "Source0.cs");
        return compilation.ReplaceSyntaxTree(old, GeneratorHarness.Parse(text, old.FilePath));
    }

    private static void AssertNotRecomputed(GeneratorRun run, string step)
    {
        var outputs = run.StepOutputs(step).ToArray();
        Assert.True(outputs.Length > 0, $"Step {step} has no outputs in this run; nothing was checked.");
        foreach ((object _, IncrementalStepRunReason reason) in outputs)
        {
            Assert.True(
                reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                $"Step {step} was recomputed with a different value ({reason}); expected Cached or Unchanged.");
        }
    }
}
