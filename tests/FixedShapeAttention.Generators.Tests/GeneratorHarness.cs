using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace FixedShapeAttention.Generators.Tests;

/// <summary>
/// Runs <see cref="TransformerShapeGenerator"/> in-process over source text, the way the compiler would: a
/// <see cref="CSharpCompilation"/> against the running platform's assemblies plus FixedShapeAttention.dll, and a
/// <see cref="CSharpGeneratorDriver"/> that tracks every incremental step so the incrementality tests can read them.
/// </summary>
internal static class GeneratorHarness
{
    /// <summary>The files the generator adds per shape: Shape, Attention, FeedForward and Projection.</summary>
    public const int FilesPerShape = 5;

    /// <summary>C# 12 or later: the generated kernels are <c>file readonly struct</c>s.</summary>
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    /// <summary>
    /// A library with nullable on, no unsafe code and every warning wave, like an SDK project targeting net10.0 (the
    /// demo): generated code must compile there.
    /// </summary>
    public static readonly CSharpCompilationOptions CompilationOptions = new(
        OutputKind.DynamicallyLinkedLibrary,
        nullableContextOptions: NullableContextOptions.Enable,
        warningLevel: 9999);

    // Every assembly of the running .NET (what a net10.0 project compiles against, as implementation assemblies),
    // plus the runtime library the attribute and the generated code's helpers live in. Built once: ~200 files.
    private static readonly Lazy<ImmutableArray<MetadataReference>> s_references = new(() =>
    {
        string trusted = (string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!;
        return trusted.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append(typeof(TransformerShapeAttribute).Assembly.Location)
            .Distinct(StringComparer.Ordinal)
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToImmutableArray();
    });

    public static ImmutableArray<MetadataReference> References => s_references.Value;

    /// <summary>One syntax tree per source, at paths <c>Source0.cs</c>, <c>Source1.cs</c>, … so diagnostics name a file.</summary>
    public static CSharpCompilation CreateCompilation(params string[] sources) =>
        CSharpCompilation.Create(
            "GeneratorTestAssembly",
            sources.Select((source, i) => Parse(source, $"Source{i}.cs")),
            References,
            CompilationOptions);

    public static SyntaxTree Parse(string source, string path) =>
        CSharpSyntaxTree.ParseText(source, ParseOptions, path);

    /// <summary>
    /// <see cref="ParseOptions"/> with the compiler's nullable analysis switched off (the "run-nullable-analysis"
    /// feature flag), for compilations too large to analyse twice: it is more than half the compile time of generated
    /// kernels. Nullable warnings in generated code are then not reported; the snapshot and variant tests check those.
    /// </summary>
    public static readonly CSharpParseOptions ParseOptionsWithoutNullableAnalysis =
        ParseOptions.WithFeatures(new[] { new KeyValuePair<string, string>("run-nullable-analysis", "never") });

    /// <summary>A fresh driver that records every step (Parse, Diagnostics, Output) of every run; generated trees are
    /// parsed with <paramref name="parseOptions"/> (<see cref="ParseOptions"/> when null).</summary>
    public static GeneratorDriver CreateDriver(CSharpParseOptions? parseOptions = null) =>
        CSharpGeneratorDriver.Create(
            new[] { new TransformerShapeGenerator().AsSourceGenerator() },
            parseOptions: parseOptions ?? ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    public static GeneratorRun Run(params string[] sources) => Run(CreateCompilation(sources));

    /// <summary>Runs <paramref name="driver"/> (a fresh one when null) over <paramref name="compilation"/>. Pass the
    /// previous run's <see cref="GeneratorRun.Driver"/> to run incrementally.</summary>
    public static GeneratorRun Run(CSharpCompilation compilation, GeneratorDriver? driver = null)
    {
        GeneratorDriver next = (driver ?? CreateDriver())
            .RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out ImmutableArray<Diagnostic> diagnostics);
        return new GeneratorRun(compilation, output, next, diagnostics);
    }

    /// <summary>
    /// Fails, listing each problem with its line, unless the compilation with the generated sources has no errors and
    /// the generated files have no warnings. Warnings count because projects that treat warnings as errors (this
    /// repository's included) would fail to build on them, and the user cannot fix generated code.
    /// </summary>
    public static void AssertGeneratedCodeCompiles(GeneratorRun run)
    {
        Diagnostic[] problems = run.OutputErrors.Concat(run.GeneratedCodeWarnings).ToArray();
        if (problems.Length > 0)
        {
            Assert.Fail(
                $"The output compilation has {problems.Length} error(s) or warning(s) in generated code:\n"
                + string.Join("\n", problems.Take(20).Select(d => "  " + d))
                + (problems.Length > 20 ? $"\n  … and {problems.Length - 20} more" : ""));
        }
    }
}

/// <summary>What one generator run produced.</summary>
internal sealed class GeneratorRun
{
    public GeneratorRun(CSharpCompilation input, Compilation output, GeneratorDriver driver, ImmutableArray<Diagnostic> driverDiagnostics)
    {
        Input = input;
        Output = output;
        Driver = driver;
        RunResult = driver.GetRunResult();
        DriverDiagnostics = driverDiagnostics;
    }

    public CSharpCompilation Input { get; }

    /// <summary>The input compilation plus the generated syntax trees.</summary>
    public Compilation Output { get; }

    /// <summary>The driver after this run; run it again for an incremental run.</summary>
    public GeneratorDriver Driver { get; }

    public GeneratorDriverRunResult RunResult { get; }

    /// <summary>Our generator's result (the driver runs only it).</summary>
    public GeneratorRunResult Result => RunResult.Results.Single();

    /// <summary>Everything the driver reported: the generator's diagnostics and, if it threw, CS8785.</summary>
    public ImmutableArray<Diagnostic> DriverDiagnostics { get; }

    /// <summary>The diagnostics the generator itself reported (FSA….).</summary>
    public ImmutableArray<Diagnostic> GeneratorDiagnostics => Result.Diagnostics;

    /// <summary>Generated source text by hint name (for example <c>Demo.MiniLm.Attention.g.cs</c>), ordinal order.</summary>
    public IReadOnlyDictionary<string, string> Sources =>
        Result.GeneratedSources.ToImmutableSortedDictionary(s => s.HintName, s => s.SourceText.ToString(), StringComparer.Ordinal);

    /// <summary>Errors of the output compilation: user code and generated code together.</summary>
    public Diagnostic[] OutputErrors =>
        Output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToArray();

    /// <summary>Warnings located in the generated files (not in the test's own sources).</summary>
    public Diagnostic[] GeneratedCodeWarnings =>
        Output.GetDiagnostics()
            .Where(d => d.Severity == DiagnosticSeverity.Warning && d.Location.SourceTree is { } tree && !Input.SyntaxTrees.Contains(tree))
            .ToArray();

    /// <summary>The outputs of one tracked step of the last run (see <see cref="TrackingNames"/>), with why each was or was not recomputed.</summary>
    public IEnumerable<(object Value, IncrementalStepRunReason Reason)> StepOutputs(string trackingName) =>
        Result.TrackedSteps.TryGetValue(trackingName, out ImmutableArray<IncrementalGeneratorRunStep> steps)
            ? steps.SelectMany(step => step.Outputs)
            : Enumerable.Empty<(object, IncrementalStepRunReason)>();
}
