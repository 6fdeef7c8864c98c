using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using FixedShapeAttention.Decoding;
using FixedShapeAttention.Training;
using Xunit;

namespace FixedShapeAttention.Tests.Decoding;

[Collection(nameof(ProcessWideMeasurements))]
public sealed class LanguageModelDecoderTests
{
    private static TransformerLanguageModel Model(bool preNorm = true, bool tied = true, bool causal = true, int keyValueHeads = 0, bool rotary = false, int dim = 32)
    {
        var model = new TransformerLanguageModel(new LanguageModelConfig
        {
            Vocabulary = 23, SequenceLength = 12, Dim = dim, Heads = 4, Ffn = 48, Layers = 2, PreNorm = preNorm, TiedEmbeddings = tied, Causal = causal,
            KeyValueHeads = keyValueHeads, RotaryPositions = rotary,
        });
        model.Initialize(11);
        // Larger weights than GPT-2's initialisation, so attention rows are far from uniform and a wrong key matters;
        // scaled down as √dim grows, so that a wider model's pre-activations are as large as dim 32's.
        float scale = 15f * MathF.Sqrt(32f / dim);
        foreach (TrainableTensor p in model.Parameters.Where(p => p.Shape.Length == 2))
        {
            for (int i = 0; i < p.Value.Length; i++)
                p.Value[i] *= scale;
        }

        return model;
    }

    // Dim 32 (head dim 8) takes the cached attention's one-head P·V on Vector512 and its across-heads P·V on Vector256;
    // dim 128 (head dim 32, two vectors a head on Vector512) takes the across-heads one on both, grouped heads included.
    [Theory]
    [InlineData(true, true, 0, false, 32)]
    [InlineData(false, false, 0, false, 32)]
    [InlineData(true, true, 1, true, 32)]
    [InlineData(true, false, 2, true, 32)]
    [InlineData(true, true, 0, false, 128)]
    [InlineData(true, false, 2, true, 128)]
    public void Cached_decoding_gives_the_logits_of_a_full_recompute(bool preNorm, bool tied, int keyValueHeads, bool rotary, int dim)
    {
        TransformerLanguageModel model = Model(preNorm, tied, keyValueHeads: keyValueHeads, rotary: rotary, dim: dim);
        int t = model.Config.SequenceLength, v = model.Config.Vocabulary;
        int[] text = [3, 17, 0, 22, 5, 9, 9, 1, 14, 2, 20, 7];
        var decoder = new LanguageModelDecoder(model, maxSequences: 2);
        var cached = new float[v];
        var full = new float[t * v];
        var padded = new int[t];

        decoder.Prefill(1, text.AsSpan(0, 5), cached);
        for (int position = 4; position < t; position++)
        {
            if (position > 4)
                decoder.DecodeStep([1], [text[position]], cached);
            text.AsSpan(0, position + 1).CopyTo(padded);
            model.Logits(padded, full);
            ReadOnlySpan<float> expected = full.AsSpan(position * v, v);
            // The same products in another blocking (whole sequences against one row): float32 rounding of the
            // logits, which are O(10) here.
            for (int j = 0; j < v; j++)
                Assert.True(Math.Abs(cached[j] - expected[j]) <= 2e-5 * (1 + Math.Abs(expected[j])), $"position {position}, token {j}: {cached[j]} against {expected[j]}");
        }

        Assert.Equal(t, decoder.Position(1));
        Assert.Equal(0, decoder.Position(0));
    }

    [Fact]
    public void Grouped_query_attention_shrinks_the_cache_by_the_group_size()
    {
        var full = new LanguageModelDecoder(Model(), 2);
        var grouped = new LanguageModelDecoder(Model(keyValueHeads: 1, rotary: true), 2);
        // 2 · Layers · sequences · SequenceLength · KeyValueDim floats: 2·2·2·12·32 and, with one key/value head, ·8.
        Assert.Equal(2L * 2 * 2 * 12 * 32 * sizeof(float), full.CacheBytes);
        Assert.Equal(full.CacheBytes / 4, grouped.CacheBytes);
    }

    [Fact]
    public void Sequences_at_different_positions_decode_together_to_the_same_bits_as_alone()
    {
        TransformerLanguageModel model = Model(keyValueHeads: 2, rotary: true);
        int v = model.Config.Vocabulary;
        var together = new LanguageModelDecoder(model, 3);
        var alone = new LanguageModelDecoder(model, 3);
        var scratch = new float[v];
        together.Prefill(0, [1, 2, 3], scratch);
        together.Prefill(2, [4, 5, 6, 7, 8, 9], scratch);
        alone.Prefill(0, [1, 2, 3], scratch);
        alone.Prefill(2, [4, 5, 6, 7, 8, 9], scratch);

        var both = new float[2 * v];
        together.DecodeStep([2, 0], [10, 11], both);
        var first = new float[v];
        var second = new float[v];
        alone.DecodeStep([0], [11], first);
        alone.DecodeStep([2], [10], second);

        Assert.True(both.AsSpan(0, v).SequenceEqual(second));
        Assert.True(both.AsSpan(v, v).SequenceEqual(first));
        Assert.Equal(4, together.Position(0));
        Assert.Equal(7, together.Position(2));
    }

    [Fact]
    public void Decoding_gives_the_same_bits_on_one_thread_and_on_every_thread()
    {
        // Wide enough for the projections to be split across threads (PanelGemm's threshold is 250 kFLOP a call).
        var model = new TransformerLanguageModel(new LanguageModelConfig
        {
            Vocabulary = 300, SequenceLength = 48, Dim = 256, Heads = 8, Ffn = 1024, Layers = 2, KeyValueHeads = 2, RotaryPositions = true,
        });
        model.Initialize(5);
        int[] prompt = Enumerable.Range(0, 40).Select(i => i * 7 % 300).ToArray();

        float[] Decode(int threads)
        {
            int saved = KernelParallelism.DefaultMaxDegreeOfParallelism;
            try
            {
                KernelParallelism.DefaultMaxDegreeOfParallelism = threads;
                var decoder = new LanguageModelDecoder(model, 2);
                var logits = new float[2 * model.Config.Vocabulary];
                decoder.Prefill(0, prompt, logits.AsSpan(0, model.Config.Vocabulary));
                decoder.Prefill(1, prompt.AsSpan(0, 17), logits.AsSpan(0, model.Config.Vocabulary));
                for (int step = 0; step < 4; step++)
                    decoder.DecodeStep([0, 1], [step, 2 * step], logits);
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
    public void Bad_arguments_are_rejected_before_the_cache_changes()
    {
        TransformerLanguageModel model = Model();
        int v = model.Config.Vocabulary;
        var decoder = new LanguageModelDecoder(model, 2);
        var logits = new float[v];
        decoder.Prefill(0, Enumerable.Range(0, 10).ToArray(), logits);

        Assert.Throws<ArgumentException>(() => decoder.Prefill(0, [1, 2, 3], logits));
        Assert.Throws<ArgumentOutOfRangeException>(() => decoder.Prefill(1, [1, v], logits));
        Assert.Throws<ArgumentException>(() => decoder.Prefill(1, [], logits));
        Assert.Throws<ArgumentException>(() => decoder.Prefill(1, [1], new float[v - 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => decoder.Prefill(2, [1], logits));
        Assert.Throws<ArgumentException>(() => decoder.DecodeStep([0, 0], [1, 2], new float[2 * v]));
        Assert.Throws<ArgumentException>(() => decoder.DecodeStep([0, 1], [1], new float[2 * v]));
        Assert.Throws<ArgumentOutOfRangeException>(() => decoder.DecodeStep([0, 1], [1, -1], new float[2 * v]));
        Assert.Equal(10, decoder.Position(0));
        Assert.Equal(0, decoder.Position(1));

        decoder.DecodeStep([0], [1], logits);
        decoder.DecodeStep([0], [1], logits);
        var full = Assert.Throws<ArgumentException>(() => decoder.DecodeStep([0, 1], [1, 1], new float[2 * v]));
        Assert.Contains("full", full.Message, StringComparison.Ordinal);
        Assert.Equal(0, decoder.Position(1));
        Assert.Throws<ArgumentException>(() => new LanguageModelDecoder(Model(causal: false), 1));
    }

    [Fact]
    public void Greedy_generation_follows_the_argmax_of_each_step_and_stops_on_the_stop_token()
    {
        TransformerLanguageModel model = Model();
        int v = model.Config.Vocabulary;
        var decoder = new LanguageModelDecoder(model, 1);
        int[] generated = decoder.Generate(new[] { 4, 8 }, 6, SamplingOptions.Greedy, seed: 0, stopToken: -1).ToArray();

        var manual = new LanguageModelDecoder(model, 1);
        var logits = new float[v];
        manual.Prefill(0, [4, 8], logits);
        var expected = new List<int>();
        for (int i = 0; i < 6; i++)
        {
            int next = logits.AsSpan().IndexOf(logits.Max());
            expected.Add(next);
            if (i < 5)
                manual.DecodeStep([0], [next], logits);
        }

        Assert.Equal(expected, generated);
        int[] stopped = decoder.Generate(new[] { 4, 8 }, 6, SamplingOptions.Greedy, 0, stopToken: expected[2]).ToArray();
        Assert.Equal(expected.Take(expected.IndexOf(expected[2])), stopped);
        // The context (12) ends generation: 2 prompt tokens leave 10 positions to decode, and the logits after the
        // last of them still choose one more token.
        Assert.Equal(11, decoder.Generate(new[] { 4, 8 }, 50, new SamplingOptions(), 5, -1).Count());
    }

    [Fact]
    public async Task The_asynchronous_stream_gives_the_same_tokens_and_honours_cancellation()
    {
        TransformerLanguageModel model = Model();
        var decoder = new LanguageModelDecoder(model, 1);
        var options = new SamplingOptions { Temperature = 0.9f, TopK = 8 };
        int[] sync = decoder.Generate(new[] { 1, 2, 3 }, 7, options, 42, -1).ToArray();
        var streamed = new List<int>();
        await foreach (int token in decoder.GenerateAsync(new[] { 1, 2, 3 }, 7, options, 42, -1, TestContext.Current.CancellationToken))
            streamed.Add(token);
        Assert.Equal(sync, streamed);

        using var cancel = new CancellationTokenSource();
        var partial = new List<int>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (int token in decoder.GenerateAsync(new[] { 1, 2, 3 }, 7, options, 42, -1, cancel.Token))
            {
                partial.Add(token);
                if (partial.Count == 2)
                    cancel.Cancel();
            }
        });
        Assert.Equal(sync.Take(2), partial);
    }

    [Fact]
    public void A_decode_step_allocates_nothing_once_warm()
    {
        TransformerLanguageModel model = Model();
        var decoder = new LanguageModelDecoder(model, 2);
        var logits = new float[2 * model.Config.Vocabulary];
        decoder.Prefill(0, [1, 2], logits.AsSpan(0, model.Config.Vocabulary));
        decoder.Prefill(1, [3], logits.AsSpan(0, model.Config.Vocabulary));
        int[] sequences = [0, 1], tokens = [5, 6];
        for (int i = 0; i < 6; i++)
        {
            // Warm-up, then back to the same positions: enough calls for tiered compilation to settle.
            decoder.Reset(0);
            decoder.Reset(1);
            decoder.Prefill(0, [1, 2], logits.AsSpan(0, model.Config.Vocabulary));
            decoder.Prefill(1, [3], logits.AsSpan(0, model.Config.Vocabulary));
            for (int step = 0; step < 8; step++)
                decoder.DecodeStep(sequences, tokens, logits);
            decoder.Reset(0);
            decoder.Reset(1);
            decoder.Prefill(0, [1, 2], logits.AsSpan(0, model.Config.Vocabulary));
            decoder.Prefill(1, [3], logits.AsSpan(0, model.Config.Vocabulary));
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        decoder.DecodeStep(sequences, tokens, logits);
        decoder.DecodeStep(sequences, tokens, logits);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void A_steps_attention_work_is_linear_in_its_position_counted_not_timed(int keyValueHeads)
    {
        // Counts the cached keys the attention kernel reads (AttendedKeys), not time: a step at position p reads p + 1
        // keys per layer and head, so its work is exactly Layers · Heads · (p + 1), the same increment at every step,
        // whatever the context (a recompute would grow as p², a kernel that scanned the whole cache as the context).
        TransformerLanguageModel model = Model(keyValueHeads: keyValueHeads, rotary: keyValueHeads > 0);
        LanguageModelConfig c = model.Config;
        var decoder = new LanguageModelDecoder(model, 2);
        var logits = new float[c.Vocabulary];
        decoder.Prefill(1, [4, 5, 6], logits);
        long afterOtherSequence = decoder.AttendedKeys;
        // The prefill of 3 tokens reads 1 + 2 + 3 keys per layer and head.
        Assert.Equal((long)c.Layers * c.Heads * (1 + 2 + 3), afterOtherSequence);

        decoder.Prefill(0, [1], logits);
        var work = new List<long>();
        for (int position = 1; position < c.SequenceLength; position++)
        {
            long before = decoder.AttendedKeys;
            decoder.DecodeStep([0], [position % c.Vocabulary], logits);
            work.Add(decoder.AttendedKeys - before);
            Assert.Equal((long)c.Layers * c.Heads * (position + 1), work[^1]);
        }

        // Linear: every step costs the same Layers · Heads more than the one before.
        Assert.All(work.Zip(work.Skip(1), (a, b) => b - a), increment => Assert.Equal((long)c.Layers * c.Heads, increment));

        // A batch step is the sum of its rows' work, each at its own position.
        long beforeBatch = decoder.AttendedKeys;
        decoder.Reset(0);
        decoder.Prefill(0, [1, 2], logits);
        long prefillWork = decoder.AttendedKeys - beforeBatch;
        beforeBatch = decoder.AttendedKeys;
        decoder.DecodeStep([0, 1], [3, 7], new float[2 * c.Vocabulary]);
        Assert.Equal((long)c.Layers * c.Heads * (1 + 2), prefillWork);
        Assert.Equal((long)c.Layers * c.Heads * ((2 + 1) + (3 + 1)), decoder.AttendedKeys - beforeBatch);
    }
}
