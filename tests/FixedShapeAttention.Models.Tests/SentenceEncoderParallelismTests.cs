using System;
using System.IO;
using System.Linq;
using System.Text;
using FixedShapeAttention.Encoder;
using FixedShapeAttention.Scheduling;
using Xunit;

namespace FixedShapeAttention.Models.Tests;

/// <summary>Runs alone: the thread default is process-wide, and the worker pool's job count sees every thread's calls.</summary>
[CollectionDefinition(nameof(ProcessWideThreadCap), DisableParallelization = true)]
public sealed class ProcessWideThreadCap;

/// <summary>
/// <see cref="SentenceEncoder"/>'s overloads without <c>maxDegreeOfParallelism</c> run on
/// <see cref="KernelParallelism.DefaultMaxDegreeOfParallelism"/> threads: at 1 no job reaches the worker pool (the
/// embedding LayerNorm included), at -1 the same call does, and the bits equal an explicit single-threaded call.
/// A random one-layer model of MiniLM's widths stands in for the real one, which this needs only the shape of.
/// </summary>
[Collection(nameof(ProcessWideThreadCap))]
public sealed class SentenceEncoderParallelismTests
{
    private const int Hidden = 384, Ffn = 1536, Heads = 12, Positions = 256, SequenceLength = 64;
    private static readonly string[] s_words = { "the", "model", "reads", "every", "token", "once", "and", "then", "writes", "a", "vector" };
    private static readonly Lazy<SentenceEncoder> s_encoder = new(CreateEncoder);

    [Fact]
    public void Forward_without_a_thread_count_takes_the_process_wide_default()
    {
        SentenceEncoder encoder = s_encoder.Value;
        var random = new Random(7);
        int vocabulary = encoder.Config.VocabSize;
        long[] ids = Enumerable.Range(0, 2 * SequenceLength).Select(_ => (long)random.Next(vocabulary)).ToArray();
        long[] mask = Enumerable.Range(0, 2 * SequenceLength).Select(i => i % SequenceLength < (i < SequenceLength ? SequenceLength : 40) ? 1L : 0L).ToArray();
        var types = new long[ids.Length];

        float[] Run(Action<float[]> forward)
        {
            var hidden = new float[ids.Length * Hidden];
            forward(hidden);
            return hidden;
        }

        float[] expected = Run(hidden => encoder.Forward(ids, mask, types, SequenceLength, hidden, 1));
        AssertHonoursDefault(expected, () => Run(hidden => encoder.Forward(ids, mask, types, SequenceLength, hidden)), "Forward");
    }

    [Fact]
    public void Embed_without_a_thread_count_takes_the_process_wide_default()
    {
        SentenceEncoder encoder = s_encoder.Value;
        var random = new Random(8);
        string[] sentences = Enumerable.Range(0, 3)
            .Select(_ => string.Join(' ', Enumerable.Range(0, 20 + random.Next(30)).Select(_ => s_words[random.Next(s_words.Length)])))
            .ToArray();

        float[] expected = encoder.Embed(sentences, 1, TestContext.Current.CancellationToken).SelectMany(e => e).ToArray();
        AssertHonoursDefault(expected, () => encoder.Embed(sentences, TestContext.Current.CancellationToken).SelectMany(e => e).ToArray(), "Embed");
    }

    private static void AssertHonoursDefault(float[] expected, Func<float[]> withDefault, string call)
    {
        int saved = KernelParallelism.DefaultMaxDegreeOfParallelism;
        try
        {
            KernelParallelism.DefaultMaxDegreeOfParallelism = 1;
            long jobs = KernelWorkerPool.JobsStarted;
            float[] single = withDefault();
            Assert.True(KernelWorkerPool.JobsStarted == jobs, $"{call} handed {KernelWorkerPool.JobsStarted - jobs} job(s) to the worker pool with the default at 1.");
            Assert.Equal(expected, single);

            if (Environment.ProcessorCount > 1)
            {
                KernelParallelism.DefaultMaxDegreeOfParallelism = -1;
                jobs = KernelWorkerPool.JobsStarted;
                float[] parallel = withDefault();
                Assert.True(KernelWorkerPool.JobsStarted > jobs, $"{call} ran on the calling thread only with the default at -1.");
                Assert.Equal(expected, parallel);
            }
        }
        finally
        {
            KernelParallelism.DefaultMaxDegreeOfParallelism = saved;
        }
    }

    private static SentenceEncoder CreateEncoder()
    {
        string[] vocabulary = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(s_words).ToArray();
        var random = new Random(1);
        float[] Uniform(int length, double scale, double offset = 0) =>
            Enumerable.Range(0, length).Select(_ => (float)(offset + (random.NextDouble() * 2 - 1) * scale)).ToArray();
        double square = Math.Sqrt(3.0 / Hidden);
        var layer = new EncoderLayerParameters
        {
            QueryWeight = Uniform(Hidden * Hidden, square), QueryBias = Uniform(Hidden, 0.1),
            KeyWeight = Uniform(Hidden * Hidden, square), KeyBias = Uniform(Hidden, 0.1),
            ValueWeight = Uniform(Hidden * Hidden, square), ValueBias = Uniform(Hidden, 0.1),
            OutputWeight = Uniform(Hidden * Hidden, square), OutputBias = Uniform(Hidden, 0.1),
            AttentionNormGamma = Uniform(Hidden, 0.5, 1), AttentionNormBeta = Uniform(Hidden, 0.1),
            FeedForwardWeight1 = Uniform(Hidden * Ffn, square), FeedForwardBias1 = Uniform(Ffn, 0.1),
            FeedForwardWeight2 = Uniform(Ffn * Hidden, Math.Sqrt(3.0 / Ffn)), FeedForwardBias2 = Uniform(Hidden, 0.1),
            FeedForwardNormGamma = Uniform(Hidden, 0.5, 1), FeedForwardNormBeta = Uniform(Hidden, 0.1),
        };
        var weights = new BertWeights
        {
            Config = new BertConfig(vocabulary.Length, Hidden, Layers: 1, Heads, Ffn, Positions, TypeVocabSize: 2, LayerNormEpsilon: 1e-12f),
            WordEmbeddings = Uniform(vocabulary.Length * Hidden, 1),
            PositionEmbeddings = Uniform(Positions * Hidden, 0.1),
            TokenTypeEmbeddings = Uniform(2 * Hidden, 0.1),
            EmbeddingLayerNormGamma = Uniform(Hidden, 0.5, 1),
            EmbeddingLayerNormBeta = Uniform(Hidden, 0.1),
            Layers = new[] { layer },
        };
        using var vocab = new MemoryStream(Encoding.UTF8.GetBytes(string.Join('\n', vocabulary) + "\n"));
        return SentenceEncoder.Create<MiniLmShape>(weights, WordPieceTokenizer.FromVocab(vocab));
    }
}
