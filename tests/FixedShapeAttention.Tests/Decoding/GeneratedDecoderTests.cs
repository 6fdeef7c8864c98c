using System;
using System.Linq;
using FixedShapeAttention.Decoding;
using FixedShapeAttention.Training;
using Xunit;

namespace FixedShapeAttention.Tests.Decoding;

/// <summary>The decoder test models' attention shapes (LanguageModelDecoderTests.Model), declared for the generator.</summary>
[TransformerShape(12, 32, 48, Heads = 4, Causal = true)]
public partial class DecoderShape { }

[TransformerShape(12, 32, 48, Heads = 4, KeyValueHeads = 2, Causal = true)]
public partial class GroupedDecoderShape { }

[TransformerShape(12, 32, 48, Heads = 4, KeyValueHeads = 1, Causal = true)]
public partial class MultiQueryDecoderShape { }

/// <summary>
/// <see cref="LanguageModelDecoder"/> on generated decoding kernels (<see cref="LanguageModelDecoder.UseKernels{TKernels}"/>):
/// its logits against a full recompute of the prefix and against the runtime-shape decoder, with RoPE and grouped-query
/// attention; the same bits for every thread count; no allocation per token.
/// </summary>
[Collection(nameof(ProcessWideMeasurements))]
public sealed class GeneratedDecoderTests
{
    /// <summary>
    /// The cached step against the training forward over the whole prefix (which the gradient tests hold to the float64
    /// reference model): the same products in another blocking and another softmax order, so float32 rounding of logits that
    /// are O(10) here; the runtime-shape decoder's test uses the same bound.
    /// </summary>
    private const double LogitTolerance = 2e-5;

    private static TransformerLanguageModel Model(bool preNorm = true, bool tied = true, int keyValueHeads = 0, bool rotary = false)
    {
        var model = new TransformerLanguageModel(new LanguageModelConfig
        {
            Vocabulary = 23, SequenceLength = 12, Dim = 32, Heads = 4, Ffn = 48, Layers = 2, PreNorm = preNorm, TiedEmbeddings = tied,
            KeyValueHeads = keyValueHeads, RotaryPositions = rotary,
        });
        model.Initialize(11);
        // Larger weights than GPT-2's initialisation, so attention rows are far from uniform and a wrong key matters.
        foreach (TrainableTensor p in model.Parameters.Where(p => p.Shape.Length == 2))
        {
            for (int i = 0; i < p.Value.Length; i++)
                p.Value[i] *= 15;
        }

        return model;
    }

    private static LanguageModelDecoder Decoder(TransformerLanguageModel model, int sequences) =>
        model.Config.KeyValueHeadCount switch
        {
            4 => new LanguageModelDecoder(model, sequences).UseKernels<DecoderShape>(),
            2 => new LanguageModelDecoder(model, sequences).UseKernels<GroupedDecoderShape>(),
            _ => new LanguageModelDecoder(model, sequences).UseKernels<MultiQueryDecoderShape>(),
        };

    [Theory]
    [InlineData(true, true, 0, false)]
    [InlineData(false, false, 0, false)]
    [InlineData(true, true, 1, true)]
    [InlineData(true, false, 2, true)]
    [InlineData(false, true, 2, false)]
    public void Cached_decoding_on_generated_kernels_gives_the_logits_of_a_full_recompute(bool preNorm, bool tied, int keyValueHeads, bool rotary)
    {
        TransformerLanguageModel model = Model(preNorm, tied, keyValueHeads, rotary);
        int t = model.Config.SequenceLength, v = model.Config.Vocabulary;
        int[] text = [3, 17, 0, 22, 5, 9, 9, 1, 14, 2, 20, 7];
        LanguageModelDecoder decoder = Decoder(model, 2);
        var runtime = new LanguageModelDecoder(model, 2);
        var cached = new float[v];
        var runtimeLogits = new float[v];
        var full = new float[t * v];
        var padded = new int[t];

        decoder.Prefill(1, text.AsSpan(0, 5), cached);
        runtime.Prefill(1, text.AsSpan(0, 5), runtimeLogits);
        for (int position = 4; position < t; position++)
        {
            if (position > 4)
            {
                decoder.DecodeStep([1], [text[position]], cached);
                runtime.DecodeStep([1], [text[position]], runtimeLogits);
            }

            text.AsSpan(0, position + 1).CopyTo(padded);
            model.Logits(padded, full);
            ReadOnlySpan<float> expected = full.AsSpan(position * v, v);
            for (int j = 0; j < v; j++)
            {
                Assert.True(
                    Math.Abs(cached[j] - expected[j]) <= LogitTolerance * (1 + Math.Abs(expected[j])),
                    $"position {position}, token {j}: {cached[j]} against the recompute's {expected[j]}");
                Assert.True(
                    Math.Abs(cached[j] - runtimeLogits[j]) <= LogitTolerance * (1 + Math.Abs(runtimeLogits[j])),
                    $"position {position}, token {j}: {cached[j]} against the runtime-shape decoder's {runtimeLogits[j]}");
            }
        }

        Assert.Equal(t, decoder.Position(1));
        Assert.Equal(0, decoder.Position(0));
    }

    [Fact]
    public void Generated_decoding_gives_the_same_bits_on_one_thread_and_on_every_thread()
    {
        TransformerLanguageModel model = Model(keyValueHeads: 2, rotary: true);
        int v = model.Config.Vocabulary;

        float[] Decode(int threads)
        {
            int saved = KernelParallelism.DefaultMaxDegreeOfParallelism;
            try
            {
                KernelParallelism.DefaultMaxDegreeOfParallelism = threads;
                LanguageModelDecoder decoder = Decoder(model, 3);
                var logits = new float[3 * v];
                decoder.Prefill(0, [1, 2, 3, 4, 5, 6, 7], logits.AsSpan(0, v));
                decoder.Prefill(2, [8, 9], logits.AsSpan(0, v));
                decoder.Prefill(1, [10], logits.AsSpan(0, v));
                for (int step = 0; step < 4; step++)
                    decoder.DecodeStep([2, 0, 1], [step, step + 1, step + 2], logits);
                return logits;
            }
            finally
            {
                KernelParallelism.DefaultMaxDegreeOfParallelism = saved;
            }
        }

        Assert.Equal(Decode(1).Select(BitConverter.SingleToInt32Bits), Decode(-1).Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void The_cache_is_the_shapes_and_a_reset_sequence_starts_again()
    {
        TransformerLanguageModel model = Model(keyValueHeads: 1, rotary: true);
        int v = model.Config.Vocabulary;
        LanguageModelDecoder decoder = Decoder(model, 2);
        // Per layer and sequence: one Kᵀ panel of 8 × 16 (the context padded to whole Vector512s) and 12 value rows of 8.
        Assert.Equal(2L * 2 * (8 * 16 + 12 * 8) * sizeof(float), decoder.CacheBytes);

        var first = new float[v];
        var again = new float[v];
        decoder.Prefill(0, [4, 5, 6], first);
        decoder.DecodeStep([0], [7], first);
        decoder.Reset(0);
        Assert.Equal(0, decoder.Position(0));
        decoder.Prefill(0, [4, 5, 6], again);
        decoder.DecodeStep([0], [7], again);
        Assert.Equal(first, again);
    }

    /// <summary>
    /// A decoder's step and prefill, and the generated Prefill and DecodeStep kernels themselves, allocate nothing once warm
    /// (the calls pass arrays: a collection expression such as <c>[1, 2]</c> allocates at the call site in this build).
    /// </summary>
    [Fact]
    public void A_step_on_generated_kernels_allocates_nothing_once_warm()
    {
        TransformerLanguageModel model = Model(keyValueHeads: 2, rotary: true);
        int v = model.Config.Vocabulary;
        LanguageModelDecoder decoder = Decoder(model, 2);
        var logits = new float[2 * v];
        int[] sequences = [0, 1], tokens = [5, 6], stepSequences = [1, 0], stepPositions = [2, 5], prompt = [1, 2, 3];
        int e = GroupedDecoderShape.EmbeddingDim, kv = GroupedDecoderShape.KeyValueHeads * 8;
        KeyValueCache cache = GroupedDecoderShape.CreateKeyValueCache(1, 2);
        float[] q = new float[5 * e], k = new float[5 * kv], output = new float[5 * e];
        long kernels = 0, step = 0;
        for (int i = 0; i < 40; i++)
        {
            // The same calls each round: the last rounds, once tiered compilation has settled, must allocate nothing.
            decoder.Reset(0);
            decoder.Reset(1);
            decoder.Prefill(0, [1, 2], logits.AsSpan(0, v));
            decoder.Prefill(1, [3], logits.AsSpan(0, v));
            cache.Reset(0);
            cache.Reset(1);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int s = 0; s < 4; s++)
                decoder.DecodeStep(sequences, tokens, logits);
            step = GC.GetAllocatedBytesForCurrentThread() - before;
            before = GC.GetAllocatedBytesForCurrentThread();
            GroupedDecoderShape.Prefill(cache, 0, 0, 0, q, k, k, output, -1);
            GroupedDecoderShape.Prefill(cache, 0, 1, 0, q.AsSpan(0, 2 * e), k.AsSpan(0, 2 * kv), k.AsSpan(0, 2 * kv), output.AsSpan(0, 2 * e), -1);
            decoder.Prefill(0, prompt, logits.AsSpan(0, v));
            GroupedDecoderShape.DecodeStep(cache, 0, stepSequences, stepPositions, q.AsSpan(0, 2 * e), k.AsSpan(0, 2 * kv), k.AsSpan(0, 2 * kv), output.AsSpan(0, 2 * e), -1);
            kernels = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.True(kernels == 0 && step == 0, $"the kernels and a decoder prefill allocated {kernels} bytes, the decoder's steps {step}");
    }

    [Fact]
    public void A_shape_that_does_not_match_the_model_is_rejected()
    {
        var error = Assert.Throws<ArgumentException>(() => new LanguageModelDecoder(Model(keyValueHeads: 2), 1).UseKernels<DecoderShape>());
        Assert.Contains("KeyValueHeads 4", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new LanguageModelDecoder(Model(), 1).UseKernels<GroupedDecoderShape>());
        Assert.Throws<ArgumentException>(() => new LanguageModelDecoder(Model(), 1).UseKernels<FixedShapeAttention.Tests.Training.SmallCausalGpt>());
    }
}
