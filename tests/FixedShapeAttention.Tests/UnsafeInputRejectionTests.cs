using System;
using System.Runtime.InteropServices;
using FixedShapeAttention.CompilerServices;
using FixedShapeAttention.Kernels;
using Xunit;

namespace FixedShapeAttention.Tests;

/// <summary>
/// Calls from safe code that used to read or write out of bounds inside unsafe kernels (three of them ended the process
/// with AccessViolationException, exit 134): each is now an argument exception raised before any kernel runs.
/// </summary>
public class UnsafeInputRejectionTests
{
    private const int E = 384, F = 1536;

    [Fact]
    public void Packed_feed_forward_weights_with_short_arrays_are_rejected_when_made()
    {
        // The call from the issue: MiniLM's dimensions with 16-float arrays, then passed to MiniLm.FeedForward.
        var error = Assert.Throws<ArgumentException>(() =>
            PackedFeedForwardWeights.FromPacked(E, F, 16, new float[16], new float[16], new float[16], new float[16]));
        Assert.Equal("packedW1", error.ParamName);
        Assert.Contains($"expected {E * F} floats", error.Message);
        Assert.Contains("got 16", error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Packed_feed_forward_weights_with_a_null_array_are_rejected(int nullAt)
    {
        float[]? Make(int index, int length) => index == nullAt ? null : new float[length];
        var error = Assert.Throws<ArgumentNullException>(() =>
            PackedFeedForwardWeights.FromPacked(E, F, 16, Make(0, E * F)!, Make(1, F)!, Make(2, F * E)!, Make(3, E)!));
        Assert.Equal(new[] { "packedW1", "b1", "packedW2", "b2" }[nullAt], error.ParamName);
    }

    [Fact]
    public void Packed_projection_weights_with_short_arrays_are_rejected_when_made()
    {
        var error = Assert.Throws<ArgumentException>(() => PackedProjectionWeights.FromPacked(E, 16, new float[16], new float[16]));
        Assert.Equal("packedW", error.ParamName);
        Assert.Contains($"expected {E * E} floats", error.Message);

        var bias = Assert.Throws<ArgumentException>(() => PackedProjectionWeights.FromPacked(E, 16, new float[E * E], new float[16]));
        Assert.Equal("b", bias.ParamName);
        Assert.Contains($"expected {E} floats (EmbeddingDim), got 16", bias.Message);
        Assert.Throws<ArgumentNullException>(() => PackedProjectionWeights.FromPacked(E, 16, null!, new float[E]));
    }

    [Theory]
    [InlineData(0, 16)]
    [InlineData(-1, 16)]
    [InlineData(int.MaxValue, 16)]
    [InlineData(E, 3)]
    [InlineData(E, 0)]
    public void Packed_weights_with_impossible_dimensions_or_lanes_are_rejected(int embeddingDim, int lanes)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PackedProjectionWeights.FromPacked(embeddingDim, lanes, new float[16], new float[16]));
        Assert.Throws<ArgumentOutOfRangeException>(() => PackedFeedForwardWeights.FromPacked(embeddingDim, F, lanes, new float[16], new float[16], new float[16], new float[16]));
    }

    public static TheoryData<string> ShapeNames() => new(Engines.ShapeNames);

    /// <summary>The generated Pack methods and the check agree on every declared shape, for this process's width (CI
    /// runs this on the Vector512, Vector256 and scalar paths): a packing FromPacked accepted has the layout's length.</summary>
    [Theory]
    [MemberData(nameof(ShapeNames))]
    public void Generated_packers_produce_the_lengths_the_check_expects(string shapeName)
    {
        TransformerShape shape = Engines.ShapeOf(shapeName);
        int e = shape.EmbeddingDim, f = shape.FfnDim;
        var packed = Engines.Pack(shapeName, new float[e * f], new float[f], new float[f * e], new float[e]);
        Assert.Equal(PackedLayout.FeedForwardW1Floats(packed.Lanes, e, f), packed.PackedW1.Length);
        Assert.Equal(PackedLayout.FeedForwardW2Floats(packed.Lanes, e, f), packed.PackedW2.Length);
        var projection = Engines.PackProjection(shapeName, new float[e * e], new float[e]);
        Assert.Equal(PackedLayout.ProjectionFloats(projection.Lanes, e), projection.PackedW.Length);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(8)]
    [InlineData(13)]
    [InlineData(16)]
    [InlineData(21)]
    public void Activation_pass_writes_exactly_its_span_at_every_width(int length)
    {
        // The vector tail goes through a staged vector: a span ending mid-vector must leave the floats after it alone.
        foreach (Action<Span<float>> pass in new Action<Span<float>>[]
        {
            ActivationPass.Apply512<ReluOperator>, ActivationPass.Apply256<ReluOperator>, ActivationPass.ApplyScalar<ReluOperator>,
        })
        {
            var values = new float[length + 40];
            values.AsSpan().Fill(-1f);
            pass(values.AsSpan(20, length));
            Assert.All(values[..20], value => Assert.Equal(-1f, value));
            Assert.All(values[20..(20 + length)], value => Assert.Equal(0f, value));
            Assert.All(values[(20 + length)..], value => Assert.Equal(-1f, value));
        }
    }

    [Fact]
    public void Key_packing_rejects_short_spans_and_bad_strides()
    {
        var keys = new float[16];
        var keysT = new float[16];
        Assert.Throws<ArgumentException>(() => KeyPacking.PackTransposed(keys, 384, 128, 32, keysT, 128));
        Assert.Throws<ArgumentException>(() => KeyPacking.PackTransposed(keys, 4, 4, 4, new float[15], 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => KeyPacking.PackTransposed(keys, 4, 4, 4, keysT, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => KeyPacking.PackTransposed(keys, -4, 1, 4, keysT, 4));
    }

    [Fact]
    public void Inside_a_call_a_kernel_reaches_its_buffers_and_only_the_counts_passed()
    {
        var output = new float[24];
        output.AsSpan().Fill(-1f);
        ParallelRunner.Run(default(ProbeKernel), 1, 0, 1, new float[32], default, default, default, default, output, new[] { 3 });
        Assert.All(output, value => Assert.Equal(0f, value));
    }

    [Fact]
    public void Parallel_runner_rejects_a_negative_chunk_count()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ParallelRunner.Run(new ProbeKernel(), -1, 0, 1, default, default, default, default, default, default));
    }

    [Fact]
    public void A_chunk_that_throws_stops_the_chunks_not_yet_claimed()
    {
        // A million chunks on the worker pool (flops far above the threshold, every processor allowed): each run of
        // the kernel throws, and the call must fail after the chunks already running, not after all of them.
        ThrowingKernel.Runs = 0;
        Assert.Throws<InvalidOperationException>(() =>
            ParallelRunner.Run(default(ThrowingKernel), 1_000_000, long.MaxValue, -1, default, default, default, default, default, default));
        Assert.InRange(ThrowingKernel.Runs, 1, 4 * Environment.ProcessorCount);
    }

    [Fact]
    public void A_default_kernel_buffers_has_no_buffers()
    {
        Assert.Throws<InvalidOperationException>(() => default(KernelBuffers).Output);
        Assert.Equal(7, default(KernelBuffers).SequenceCount(int.MaxValue, 7));
    }

    [Fact]
    public void Scratch_rejects_a_negative_size()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => WorkerScratch.Get(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => WorkerScratch.Get(int.MaxValue));
        Assert.Throws<ArgumentOutOfRangeException>(() => CallScratch.Get(-1));
    }

    /// <summary>What a user's kernel could do from safe code with the buffers of its call (24 output floats, one count).</summary>
    private readonly struct ProbeKernel : IChunkKernel
    {
        public void Execute(in KernelBuffers buffers, int chunk)
        {
            Assert.Equal(3, buffers.SequenceCount(0, -1));
            Assert.Throws<ArgumentOutOfRangeException>(() => RunInner(default(SecondCountKernel)));
            ActivationPass.ApplyScalar<ReluOperator>(MemoryMarshal.CreateSpan(ref buffers.Output, 24));
        }

        // A lambda cannot capture the ref struct, so each probe runs as a call of its own with the same buffer sizes.
        private static int RunInner<TKernel>(TKernel kernel)
            where TKernel : struct, IChunkKernel
        {
            ParallelRunner.Run(kernel, 1, 0, 1, new float[32], default, default, default, default, new float[24], new[] { 3 });
            return 0;
        }
    }

    private readonly struct ThrowingKernel : IChunkKernel
    {
        public static int Runs;

        public void Execute(in KernelBuffers buffers, int chunk)
        {
            System.Threading.Interlocked.Increment(ref Runs);
            throw new InvalidOperationException($"chunk {chunk}");
        }
    }

    private readonly struct SecondCountKernel : IChunkKernel
    {
        public void Execute(in KernelBuffers buffers, int chunk) => buffers.SequenceCount(1, 0);
    }
}
