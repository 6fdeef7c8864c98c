using System;
using System.Linq;
using FixedShapeAttention.CompilerServices;
using FixedShapeAttention.Decoding;
using Xunit;

namespace FixedShapeAttention.Tests.Decoding;

/// <summary>Two key/value heads for four query heads: 5-wide heads, a one-row tail, Q·Kᵀ unrolled.</summary>
[TransformerShape(13, 20, 36, Heads = 4, KeyValueHeads = 2, Causal = true)]
public partial class GroupedCausal { }

/// <summary>One key/value head for four query heads (multi-query attention) at 37 tokens: a one-row tail, two key panels.</summary>
[TransformerShape(37, 32, 64, Heads = 4, KeyValueHeads = 1, Causal = true)]
public partial class MultiQueryCausal { }

/// <summary>Grouped-query attention without the causal mask: no decoding kernels, the grouped forward only.</summary>
[TransformerShape(9, 24, 40, Heads = 6, KeyValueHeads = 3)]
public partial class GroupedBidirectional { }

/// <summary>
/// The generated decoding kernels (<see cref="IDecodingKernels"/>): a prefill and decode steps give, row for row, the bits of
/// the shape's causal <c>Attention</c> over the whole sequence (the same bodies on the same rows), whatever the split of the
/// prompt, the other sequences in a step and the thread count; grouped-query attention against a float64 reference; and every
/// bad argument refused before the cache or the output changes.
/// </summary>
public sealed class GeneratedDecodingTests
{
    private static (float[] Q, float[] K, float[] V) Inputs<T>(int batch, int seed)
        where T : ITransformerKernels
    {
        int rows = batch * T.SequenceLength, kv = T.KeyValueHeads * (T.EmbeddingDim / T.Heads);
        return (TestData.Uniform(rows * T.EmbeddingDim, seed, 2f), TestData.Uniform(rows * kv, seed + 1, 2f), TestData.Uniform(rows * kv, seed + 2));
    }

    private static void AssertGroupedMatchesReference<T>()
        where T : ITransformerKernels
    {
        const int batch = 2;
        var (q, k, v) = Inputs<T>(batch, 31);
        var output = new float[q.Length];
        T.Attention(q, k, v, output);
        int e = T.EmbeddingDim;
        for (int sequence = 0; sequence < batch; sequence++)
        {
            for (int row = 0; row < T.SequenceLength; row++)
            {
                double[] expected = Reference.AttentionRow(T.Shape, q, k, v, sequence, row, keyValueHeads: T.KeyValueHeads);
                for (int c = 0; c < e; c++)
                {
                    double actual = output[(sequence * T.SequenceLength + row) * e + c];
                    Assert.True(
                        Math.Abs(actual - expected[c]) <= Tolerances.AttentionAbsolute + Tolerances.AttentionRelative * Math.Abs(expected[c]),
                        $"{typeof(T).Name} sequence {sequence} row {row} column {c}: {actual} against {expected[c]}");
                }
            }
        }
    }

    [Fact]
    public void Grouped_query_attention_matches_the_float64_reference()
    {
        AssertGroupedMatchesReference<GroupedCausal>();
        AssertGroupedMatchesReference<MultiQueryCausal>();
        AssertGroupedMatchesReference<GroupedBidirectional>();
    }

    [Fact]
    public void Grouped_query_reference_is_not_the_one_head_per_head_attention()
    {
        // The reference must be able to fail: reading key/value head h instead of h / group gives other numbers.
        var (q, k, v) = Inputs<GroupedCausal>(1, 7);
        double[] grouped = Reference.AttentionRow(GroupedCausal.Shape, q, k, v, 0, 9, keyValueHeads: 2);
        double[] ungrouped = Reference.AttentionRow(GroupedCausal.Shape, q, k.Concat(k).ToArray(), v.Concat(v).ToArray(), 0, 9, keyValueHeads: 4);
        Assert.NotEqual(grouped, ungrouped);
    }

    [Fact]
    public void Grouped_query_shapes_state_that_attention_backward_is_not_generated()
    {
        var (q, k, v) = Inputs<GroupedCausal>(1, 3);
        var output = new float[q.Length];
        var lse = new float[GroupedCausal.Heads * GroupedCausal.SequenceLength];
        GroupedCausal.AttentionForTraining(q, k, v, output, lse, 1);
        var plain = new float[q.Length];
        GroupedCausal.Attention(q, k, v, plain, 1);
        Assert.Equal(plain, output);
        var error = Assert.Throws<NotSupportedException>(() =>
            GroupedCausal.AttentionBackward(q, k, v, output, lse, output, new float[q.Length], new float[k.Length], new float[v.Length], 1));
        Assert.Contains("grouped-query", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Grouped_query_attention_rejects_keys_of_the_query_width()
    {
        var (q, _, _) = Inputs<GroupedCausal>(1, 3);
        var error = Assert.Throws<ArgumentException>(() => GroupedCausal.Attention(q, q, q, new float[q.Length]));
        Assert.Contains("130 = 13×10", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Sequence 0 prefills <paramref name="split"/> tokens, then sequence 1 a shorter prompt, then steps decode both (each at
    /// its own position), then sequence 0 prefills its remaining tokens in one go; every row must be the bits of that row of
    /// <c>Attention</c> over the whole batch.
    /// </summary>
    private static void AssertDecodingGivesTheBitsOfAttention<T>(int split, int maxDegreeOfParallelism)
        where T : IDecodingKernels
    {
        int s = T.SequenceLength, e = T.EmbeddingDim, kv = T.KeyValueHeads * (T.EmbeddingDim / T.Heads);
        var (q, k, v) = Inputs<T>(2, 101 + split);
        var expected = new float[q.Length];
        T.Attention(q, k, v, expected, maxDegreeOfParallelism);

        KeyValueCache cache = T.CreateKeyValueCache(layers: 2, sequences: 3);
        var actual = new float[q.Length];
        actual.AsSpan().Fill(float.NaN);
        const int layer = 1;
        // Cache slot 2 holds the batch's sequence 0 and slot 0 its sequence 1, so a slot is not the batch index.
        int[] slot = [2, 0];
        void Prefill(int sequence, int from, int count)
        {
            if (count > 0)
                PrefillRows(sequence, from, count);
        }

        void PrefillRows(int sequence, int from, int count) => T.Prefill(
            cache, layer, slot[sequence], from,
            q.AsSpan((sequence * s + from) * e, count * e), k.AsSpan((sequence * s + from) * kv, count * kv), v.AsSpan((sequence * s + from) * kv, count * kv),
            actual.AsSpan((sequence * s + from) * e, count * e), maxDegreeOfParallelism);

        int second = Math.Max(1, split / 2);
        Prefill(0, 0, split);
        Prefill(1, 0, second);
        int[] position = [split, second];
        var qRows = new float[2 * e];
        var kRows = new float[2 * kv];
        var vRows = new float[2 * kv];
        var outRows = new float[2 * e];
        int steps = Math.Min(5, s - split);
        for (int step = 0; step < steps; step++)
        {
            // Both sequences, listed in an order that alternates.
            int[] order = step % 2 == 0 ? [0, 1] : [1, 0];
            for (int i = 0; i < 2; i++)
            {
                int sequence = order[i], row = sequence * s + position[sequence];
                q.AsSpan(row * e, e).CopyTo(qRows.AsSpan(i * e));
                k.AsSpan(row * kv, kv).CopyTo(kRows.AsSpan(i * kv));
                v.AsSpan(row * kv, kv).CopyTo(vRows.AsSpan(i * kv));
            }

            T.DecodeStep(cache, layer, [slot[order[0]], slot[order[1]]], [position[order[0]], position[order[1]]], qRows, kRows, vRows, outRows, maxDegreeOfParallelism);
            for (int i = 0; i < 2; i++)
            {
                int sequence = order[i];
                outRows.AsSpan(i * e, e).CopyTo(actual.AsSpan((sequence * s + position[sequence]) * e));
                position[sequence]++;
            }
        }

        Prefill(0, position[0], s - position[0]);
        Prefill(1, position[1], s - position[1]);
        Assert.Equal(s, cache.Length(layer, slot[0]));
        Assert.Equal(0, cache.Length(0, slot[0]));
        Assert.Equal(0, cache.Length(layer, 1));

        for (int i = 0; i < q.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(actual[i]) != BitConverter.SingleToInt32Bits(expected[i]))
                Assert.Fail($"{typeof(T).Name}, split {split}: row {i / e % s} of sequence {i / e / s}, column {i % e}: {actual[i]} against Attention's {expected[i]}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(12)]
    public void Prefill_and_decode_steps_give_the_bits_of_causal_attention(int split)
    {
        AssertDecodingGivesTheBitsOfAttention<CausalGelu>(split, 1);
        AssertDecodingGivesTheBitsOfAttention<GroupedCausal>(split, 1);
        AssertDecodingGivesTheBitsOfAttention<MultiQueryCausal>(split, 1);
        AssertDecodingGivesTheBitsOfAttention<LongCausal>(split, 1);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(-1)]
    public void Decoding_gives_the_same_bits_for_every_thread_count(int maxDegreeOfParallelism)
    {
        // LongCausal prefills in two chunks per head, and its 301-token prompt is above the parallel threshold.
        AssertDecodingGivesTheBitsOfAttention<LongCausal>(290, maxDegreeOfParallelism);
        AssertDecodingGivesTheBitsOfAttention<LongCausal>(3, maxDegreeOfParallelism);
        AssertDecodingGivesTheBitsOfAttention<MultiQueryCausal>(30, maxDegreeOfParallelism);
    }

    [Fact]
    public void A_decode_step_reads_only_its_own_sequence()
    {
        // The same row of sequence 0 decoded beside a sequence full of huge values and alone: the same bits.
        int e = GroupedCausal.EmbeddingDim, kv = GroupedCausal.KeyValueHeads * 5;
        var (q, k, v) = Inputs<GroupedCausal>(1, 9);
        float[] Decode(bool withNeighbour)
        {
            KeyValueCache cache = GroupedCausal.CreateKeyValueCache(1, 2);
            var scratch = new float[6 * e];
            GroupedCausal.Prefill(cache, 0, 0, 0, q.AsSpan(0, 6 * e), k.AsSpan(0, 6 * kv), v.AsSpan(0, 6 * kv), scratch, 1);
            if (withNeighbour)
            {
                var big = Enumerable.Repeat(1e30f, 8 * kv).ToArray();
                GroupedCausal.Prefill(cache, 0, 1, 0, Enumerable.Repeat(3f, 8 * e).ToArray(), big, big, new float[8 * e], 1);
            }

            var output = new float[e];
            GroupedCausal.DecodeStep(cache, 0, [0], [6], q.AsSpan(6 * e, e), k.AsSpan(6 * kv, kv), v.AsSpan(6 * kv, kv), output, 1);
            return output;
        }

        Assert.Equal(Decode(false), Decode(true));
    }

    [Fact]
    public void Bad_arguments_are_rejected_before_the_cache_or_the_output_changes()
    {
        int e = GroupedCausal.EmbeddingDim, kv = GroupedCausal.KeyValueHeads * 5, s = GroupedCausal.SequenceLength;
        var (q, k, v) = Inputs<GroupedCausal>(1, 5);
        KeyValueCache cache = GroupedCausal.CreateKeyValueCache(2, 2);
        var prompt = new float[4 * e];
        GroupedCausal.Prefill(cache, 1, 0, 0, q.AsSpan(0, 4 * e), k.AsSpan(0, 4 * kv), v.AsSpan(0, 4 * kv), prompt, 1);

        float[] keys = DecodingOperations.Keys(cache, 1).ToArray(), values = DecodingOperations.Values(cache, 1).ToArray();
        var output = Enumerable.Repeat(-7f, 2 * e).ToArray();
        void AssertRejected<TException>(Action call, string? fragment = null)
            where TException : Exception
        {
            TException error = Assert.Throws<TException>(call);
            if (fragment is not null)
                Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
            Assert.Equal(keys, DecodingOperations.Keys(cache, 1).ToArray());
            Assert.Equal(values, DecodingOperations.Values(cache, 1).ToArray());
            Assert.Equal(4, cache.Length(1, 0));
            Assert.Equal(0, cache.Length(1, 1));
            Assert.All(output, x => Assert.Equal(-7f, x));
        }

        float[] q1 = q.AsSpan(4 * e, e).ToArray(), q2 = q.AsSpan(4 * e, 2 * e).ToArray();
        float[] k1 = k.AsSpan(4 * kv, kv).ToArray(), k2 = k.AsSpan(4 * kv, 2 * kv).ToArray(), v1 = v.AsSpan(4 * kv, kv).ToArray(), v2 = v.AsSpan(4 * kv, 2 * kv).ToArray();
        float[] longQ = new float[(s - 3) * e], longK = new float[(s - 3) * kv], longOutput = new float[(s - 3) * e];

        // A position that goes backwards, skips ahead, or passes the context.
        AssertRejected<ArgumentException>(() => GroupedCausal.DecodeStep(cache, 1, [0], [3], q1, k1, v1, output.AsSpan(0, e), 1), "goes backwards");
        AssertRejected<ArgumentException>(() => GroupedCausal.DecodeStep(cache, 1, [0], [5], q1, k1, v1, output.AsSpan(0, e), 1), "skips ahead");
        AssertRejected<ArgumentException>(() => GroupedCausal.Prefill(cache, 1, 0, 2, q2, k2, v2, output, 1), "goes backwards");
        AssertRejected<ArgumentException>(() => GroupedCausal.Prefill(cache, 1, 0, 4, longQ, longK, longK, longOutput, 1), "pass the context of 13");
        // A batch mismatch: two rows of q for one sequence, one position for two sequences, k of another row count.
        AssertRejected<ArgumentException>(() => GroupedCausal.DecodeStep(cache, 1, [0], [4], q2, k2, v2, output, 1), "one per row");
        AssertRejected<ArgumentException>(() => GroupedCausal.DecodeStep(cache, 1, [0, 1], [4], q2, k2, v2, output, 1), "one per row");
        AssertRejected<ArgumentException>(() => GroupedCausal.DecodeStep(cache, 1, [0, 1], [4, 0], q2, k1, v2, output, 1), "k:");
        AssertRejected<ArgumentException>(() => GroupedCausal.DecodeStep(cache, 1, [0, 0], [4, 4], q2, k2, v2, output, 1), "listed twice");
        // The second row is bad: the first row's key must not have been appended either.
        AssertRejected<ArgumentException>(() => GroupedCausal.DecodeStep(cache, 1, [0, 1], [4, 1], q2, k2, v2, output, 1), "positions[1]");
        AssertRejected<ArgumentOutOfRangeException>(() => GroupedCausal.DecodeStep(cache, 1, [0, 2], [4, 0], q2, k2, v2, output, 1));
        AssertRejected<ArgumentOutOfRangeException>(() => GroupedCausal.DecodeStep(cache, 2, [0], [4], q1, k1, v1, output.AsSpan(0, e), 1));
        AssertRejected<ArgumentException>(() => GroupedCausal.DecodeStep(cache, 1, [0], [4], q1, k1, v1, output.AsSpan(0, e + 1), 1), "output:");
        AssertRejected<ArgumentException>(() => GroupedCausal.Prefill(cache, 1, 1, 0, q1, k1, v1, q1, 1), "overlaps");
        AssertRejected<ArgumentException>(() => GroupedCausal.Prefill(cache, 1, 1, 0, [], [], [], [], 1), "q:");
        // A cache in another shape's layout.
        AssertRejected<ArgumentException>(() => MultiQueryCausal.Prefill(cache, 1, 1, 0, new float[32], new float[8], new float[8], new float[32], 1), "CreateKeyValueCache");
        AssertRejected<ArgumentNullException>(() => GroupedCausal.DecodeStep(null!, 1, [0], [4], q1, k1, v1, output.AsSpan(0, e), 1));

        // A full sequence refuses another token.
        GroupedCausal.Prefill(cache, 0, 1, 0, new float[s * e], new float[s * kv], new float[s * kv], new float[s * e], 1);
        var full = Assert.Throws<ArgumentException>(() => GroupedCausal.DecodeStep(cache, 0, [1], [s], q1, k1, v1, new float[e], 1));
        Assert.Contains("pass the context", full.Message, StringComparison.Ordinal);
        cache.Reset(1);
        Assert.Equal(0, cache.Length(0, 1));
    }
}
