using System;
using FixedShapeAttention.Encoder;
using FixedShapeAttention.Scheduling;
using Xunit;

namespace FixedShapeAttention.Tests;

/// <summary>
/// Every API without a <c>maxDegreeOfParallelism</c> parameter runs on <see cref="KernelParallelism.DefaultMaxDegreeOfParallelism"/>
/// threads, the encoder APIs as the kernels: with the default at 1 a call hands no job to the worker pool, at -1 the
/// same call does (on a machine with more than one processor), and both give the bits of an explicit single-threaded call.
/// </summary>
/// <remarks>In the serial collection: the default is process-wide, and the pool's job count sees every thread's calls.</remarks>
[Collection(nameof(ProcessWideMeasurements))]
public class ParallelismDefaultTests
{
    public static TheoryData<string> Calls() => new()
    {
        "TransformerEncoder.Forward, post-norm",
        "TransformerEncoder.Forward, pre-norm",
        "ITransformerEncoder.Forward",
        "LayerNormalization.Normalize",
        "LayerNormalization.AddAndNormalize",
        "generated Attention",
        "GenericKernels.FeedForward",
    };

    [Theory]
    [MemberData(nameof(Calls))]
    public void The_overload_without_a_thread_count_takes_the_process_wide_default(string call)
    {
        (Func<float[]> withDefault, Func<int, float[]> withThreads) = Call(call);
        float[] expected = withThreads(1);
        int saved = KernelParallelism.DefaultMaxDegreeOfParallelism;
        try
        {
            KernelParallelism.DefaultMaxDegreeOfParallelism = 1;
            long jobs = KernelWorkerPool.JobsStarted;
            float[] single = withDefault();
            Assert.True(KernelWorkerPool.JobsStarted == jobs, $"{call} handed {KernelWorkerPool.JobsStarted - jobs} job(s) to the worker pool with the default at 1.");
            AssertBitIdentical(expected, single, $"{call}, default 1");

            if (Environment.ProcessorCount > 1)
            {
                // The same call does go parallel when the default allows it, so the count above could have moved.
                KernelParallelism.DefaultMaxDegreeOfParallelism = -1;
                jobs = KernelWorkerPool.JobsStarted;
                float[] parallel = withDefault();
                Assert.True(KernelWorkerPool.JobsStarted > jobs, $"{call} ran on the calling thread only with the default at -1.");
                AssertBitIdentical(expected, parallel, $"{call}, default -1");
            }
        }
        finally
        {
            KernelParallelism.DefaultMaxDegreeOfParallelism = saved;
        }
    }

    /// <summary>One call on MiniLM's widths (big enough to pass the parallel threshold), without and with a thread count.</summary>
    private static (Func<float[]> WithDefault, Func<int, float[]> WithThreads) Call(string call)
    {
        TransformerShape shape = MiniLm.Shape;
        float[] x = TestData.Uniform(2 * shape.SequenceElements, seed: 21);
        float[] residual = TestData.Uniform(x.Length, seed: 22);
        float[] gamma = TestData.Uniform(shape.EmbeddingDim, seed: 23);
        float[] beta = TestData.Uniform(shape.EmbeddingDim, seed: 24);
        int[] counts = { shape.SequenceLength, 50 };
        float[] Output() => new float[x.Length];

        switch (call)
        {
            case "TransformerEncoder.Forward, post-norm":
            case "TransformerEncoder.Forward, pre-norm":
            {
                var placement = call.EndsWith("pre-norm", StringComparison.Ordinal) ? LayerNormPlacement.PreNorm : LayerNormPlacement.PostNorm;
                var layers = EncoderSetup.For(nameof(MiniLm), layers: 1, placement, seed: 5).Layers;
                var encoder = new TransformerEncoder<MiniLm>(layers, placement);
                return (() => Run(y => encoder.Forward(x, counts, y)), threads => Run(y => encoder.Forward(x, counts, y, threads)));
            }

            case "ITransformerEncoder.Forward":
            {
                ITransformerEncoder encoder = EncoderSetup.For(nameof(MiniLm), layers: 1, LayerNormPlacement.PostNorm, seed: 6).Encoder;
                return (() => Run(y => encoder.Forward(x, counts, y)), threads => Run(y => encoder.Forward(x, counts, y, threads)));
            }

            case "LayerNormalization.Normalize":
                return (() => Run(y => LayerNormalization.Normalize(x, gamma, beta, 1e-5f, y)),
                    threads => Run(y => LayerNormalization.Normalize(x, gamma, beta, 1e-5f, y, threads)));

            case "LayerNormalization.AddAndNormalize":
                return (() => Run(y => LayerNormalization.AddAndNormalize(x, residual, gamma, beta, 1e-5f, y)),
                    threads => Run(y => LayerNormalization.AddAndNormalize(x, residual, gamma, beta, 1e-5f, y, threads)));

            case "generated Attention":
            {
                var inputs = TestData.Attention(shape, 2, seed: 25);
                return (() => Run(y => MiniLm.Attention(inputs.Q, inputs.K, inputs.V, y)), threads => Run(y => MiniLm.Attention(inputs.Q, inputs.K, inputs.V, y, threads)));
            }

            case "GenericKernels.FeedForward":
            {
                var inputs = TestData.FeedForward(shape, 2, seed: 26);
                return (() => Run(y => GenericKernels.FeedForward(shape, inputs.X, inputs.W1, inputs.B1, inputs.W2, inputs.B2, y)),
                    threads => Run(y => GenericKernels.FeedForward(shape, inputs.X, inputs.W1, inputs.B1, inputs.W2, inputs.B2, y, threads)));
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(call), call, "no such call");
        }

        float[] Run(SpanAction kernel)
        {
            float[] y = Output();
            kernel(y);
            return y;
        }
    }

    private delegate void SpanAction(Span<float> y);

    private static void AssertBitIdentical(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                Assert.Fail($"{what}: element {i} is {actual[i]:R}, but {expected[i]:R} with one thread.");
            }
        }
    }
}
