using System;
using System.Linq;
using FixedShapeAttention;
using FixedShapeAttention.Scheduling;
using Xunit;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Tests;

/// <summary>The partition changes who computes a row, never how: outputs are bit-identical across schedules.</summary>
public class SchedulingTests
{
    public static TheoryData<string, string> Engines2()
    {
        var data = new TheoryData<string, string>();
        foreach (string shape in new[] { nameof(MiniLm), nameof(CausalSilu), nameof(Medium), nameof(Odd) })
        {
            data.Add(shape, "Generated");
            data.Add(shape, "Generic");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Engines2))]
    public void Output_is_bit_identical_for_every_degree_of_parallelism(string shapeName, string engineName)
    {
        Engine engine = Engines.Get(shapeName, engineName);
        var attention = TestData.Attention(engine.Shape, batch: 2, seed: 5);
        var ffn = TestData.FeedForward(engine.Shape, batch: 2, seed: 6);

        float[] Attention(int dop)
        {
            var output = new float[attention.Q.Length];
            engine.Attention(attention.Q, attention.K, attention.V, output, dop);
            return output;
        }

        float[] FeedForward(int dop)
        {
            var y = new float[ffn.X.Length];
            engine.FeedForward(ffn.X, ffn.W1, ffn.B1, ffn.W2, ffn.B2, y, dop);
            return y;
        }

        float[] attentionSequential = Attention(1);
        float[] ffnSequential = FeedForward(1);
        foreach (int dop in new[] { 2, -1 })
        {
            AssertBitIdentical(attentionSequential, Attention(dop), $"attention, dop {dop}");
            AssertBitIdentical(ffnSequential, FeedForward(dop), $"feed-forward, dop {dop}");
        }
    }

    [Theory]
    [MemberData(nameof(Engines2))]
    public void A_sequence_gives_the_same_bits_alone_and_at_any_position_in_a_batch(string shapeName, string engineName)
    {
        Engine engine = Engines.Get(shapeName, engineName);
        TransformerShape shape = engine.Shape;
        int n = shape.SequenceElements;
        var attention = TestData.Attention(shape, batch: 3, seed: 9);
        var ffn = TestData.FeedForward(shape, batch: 3, seed: 10);

        var batchedAttention = new float[3 * n];
        engine.Attention(attention.Q, attention.K, attention.V, batchedAttention, -1);
        var batchedFfn = new float[3 * n];
        engine.FeedForward(ffn.X, ffn.W1, ffn.B1, ffn.W2, ffn.B2, batchedFfn, -1);

        for (int sequence = 0; sequence < 3; sequence++)
        {
            var alone = new float[n];
            engine.Attention(attention.Q.AsSpan(sequence * n, n), attention.K.AsSpan(sequence * n, n), attention.V.AsSpan(sequence * n, n), alone, 1);
            AssertBitIdentical(alone, batchedAttention.AsSpan(sequence * n, n).ToArray(), $"attention, sequence {sequence}");

            engine.FeedForward(ffn.X.AsSpan(sequence * n, n), ffn.W1, ffn.B1, ffn.W2, ffn.B2, alone, 1);
            AssertBitIdentical(alone, batchedFfn.AsSpan(sequence * n, n).ToArray(), $"feed-forward, sequence {sequence}");
        }
    }

    [Theory]
    [InlineData(10, 3)]
    [InlineData(32, 32)]
    [InlineData(7, 1)]
    [InlineData(129, 8)]
    public void RowPartition_covers_every_unit_once_with_the_first_parts_one_larger(int total, int parts)
    {
        int next = 0;
        for (int part = 0; part < parts; part++)
        {
            Assert.Equal(next, RowPartition.Start(total, parts, part));
            int count = RowPartition.Count(total, parts, part);
            Assert.Equal(total / parts + (part < total % parts ? 1 : 0), count);
            next += count;
        }

        Assert.Equal(total, next);
    }

    [Fact]
    public void Chunk_sizing_keeps_chunks_within_a_sequence_and_above_the_work_target()
    {
        // MiniLM's FFN: 32 row tiles; every chunk streams all of W1 and W2, so few tall chunks: the minimum of 4.
        Assert.Equal(ChunkSizing.MinFeedForwardChunks, ChunkSizing.FeedForwardChunksPerSequence(128, 384, 1536));
        // BERT-base at 512 tokens: 128 tiles whose hidden rows (3072 floats each) need 4 blocks of 2 MiB at most.
        int chunks = ChunkSizing.FeedForwardChunksPerSequence(512, 768, 3072);
        Assert.Equal(4, chunks);
        Assert.True(ChunkSizing.MaxTilesPerChunk(128, chunks) * ChunkSizing.RowTile * 3072 <= ChunkSizing.MaxHiddenChunkFloats);
        // A 16k-wide hidden layer needs more, smaller chunks to stay within the block.
        Assert.True(ChunkSizing.FeedForwardChunksPerSequence(512, 768, 16384) > 4);

        // The worked example is far below the target: one chunk, and the call stays on the calling thread.
        Assert.Equal(1, ChunkSizing.AttentionChunksPerHead(4, 1));
        Assert.True(ChunkSizing.AttentionFlopsPerHead(4, 3) < KernelParallelism.ParallelThresholdFlops);
    }

    [Fact]
    public void Degree_of_parallelism_rejects_zero_and_values_below_minus_one()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelParallelism.Resolve(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelParallelism.Resolve(-2));
        Assert.Equal(1, KernelParallelism.Resolve(1));
        Assert.Equal(Environment.ProcessorCount, KernelParallelism.Resolve(-1));
        Assert.Equal(Math.Min(2, Environment.ProcessorCount), KernelParallelism.Resolve(2));
    }

    private static void AssertBitIdentical(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                Assert.Fail($"{what}: element {i} differs: {expected[i]:R} vs {actual[i]:R}.");
            }
        }
    }
}
