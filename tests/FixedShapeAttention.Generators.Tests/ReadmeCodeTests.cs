using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace FixedShapeAttention.Generators.Tests;

/// <summary>
/// Every <c>```csharp</c> block of the README compiles as a program of its own, with the generator run over it as the
/// compiler would, against the runtime library, FixedShapeAttention.Models and what a consumer of the two packages
/// references (Microsoft.Extensions.AI.Abstractions, dependency injection). The blocks are not run: they read model
/// files that are not there.
/// </summary>
public sealed partial class ReadmeCodeTests
{
    public static TheoryData<int> Blocks => new(Enumerable.Range(0, ReadBlocks().Count));

    [Fact]
    public void The_README_has_the_quick_start_and_the_embeddings_blocks()
    {
        IReadOnlyList<(int Line, string Code)> blocks = ReadBlocks();
        Assert.Contains(blocks, b => b.Code.Contains("MiniLm.Attention(q, k, v, output);", StringComparison.Ordinal));
        Assert.Contains(blocks, b => b.Code.Contains("IEmbeddingGenerator<string, Embedding<float>>", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Blocks))]
    public void Csharp_block_compiles(int index)
    {
        (int line, string code) = ReadBlocks()[index];
        MetadataReference[] extra =
        {
            MetadataReference.CreateFromFile(typeof(FixedShapeAttention.Models.SentenceEncoder).Assembly.Location),
            MetadataReference.CreateFromFile(typeof(Microsoft.Extensions.AI.IEmbeddingGenerator).Assembly.Location),
            MetadataReference.CreateFromFile(typeof(Microsoft.Extensions.DependencyInjection.IServiceCollection).Assembly.Location),
            MetadataReference.CreateFromFile(typeof(Microsoft.Extensions.DependencyInjection.ServiceCollection).Assembly.Location),
        };
        CSharpCompilation compilation = CSharpCompilation.Create(
            "ReadmeBlock" + index,
            new[] { CSharpSyntaxTree.ParseText(code, GeneratorHarness.ParseOptionsWithoutNullableAnalysis, "README.md", cancellationToken: TestContext.Current.CancellationToken) },
            GeneratorHarness.References.AddRange(extra.Distinct()),
            GeneratorHarness.CompilationOptions.WithOutputKind(OutputKind.ConsoleApplication));

        GeneratorRun run = GeneratorHarness.Run(compilation, GeneratorHarness.CreateDriver(GeneratorHarness.ParseOptionsWithoutNullableAnalysis));

        Diagnostic[] errors = run.OutputErrors.Concat(run.GeneratorDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)).ToArray();
        Assert.True(errors.Length == 0,
            $"The README's C# block at line {line + 1} does not compile:\n" + string.Join("\n", errors.Take(10).Select(e => $"  README.md line {line + e.Location.GetLineSpan().StartLinePosition.Line + 1}: {e.Id} {e.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}")));
    }

    /// <summary>The <c>```csharp</c> blocks of the repository's README, each with the line its code starts on.</summary>
    private static IReadOnlyList<(int Line, string Code)> ReadBlocks()
    {
        string readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md")).Replace("\r\n", "\n");
        return CsharpBlock().Matches(readme)
            .Select(m => (readme[..m.Groups[1].Index].Count(c => c == '\n'), m.Groups[1].Value))
            .ToArray();
    }

    private static string RepositoryRoot([CallerFilePath] string path = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, "..", ".."));

    [GeneratedRegex("^```csharp\n(.*?)^```$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex CsharpBlock();
}
