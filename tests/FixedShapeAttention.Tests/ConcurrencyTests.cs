using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using Xunit;

namespace FixedShapeAttention.Tests;

/// <summary>
/// Many threads calling the kernels at once on shared inputs and weights, each into its own output: every call must
/// give the bits of a single-threaded run. This is what breaks if scratch (packed Kᵀ, score rows, hidden
/// activations) were shared between threads, if a kernel wrote into an input, or if the schedule depended on
/// global state. <c>FSA_CONCURRENCY_SCALE</c> multiplies the number of calls per thread (for example 10 for a soak run).
/// </summary>
public class ConcurrencyTests
{
    private const int Threads = 16;

    // A call that does not finish within this is a hang (a deadlock in a nested call on the worker pool, say), not slowness.
    private static readonly TimeSpan s_hang = TimeSpan.FromMinutes(2);

    [Theory]
    [InlineData("Generated")]
    [InlineData("Generic")]
    public void Sixteen_threads_of_small_calls_give_single_threaded_bits(string engineName)
    {
        // WorkedExample (4, 3, 12) stays on the calling thread: 16 threads hammer the per-thread scratch, 10,000 calls
        // each, attention and feed-forward alternating.
        int calls = CallsPerThread(10_000);
        Run(Engines.Get(nameof(WorkedExample), engineName), calls, dop: _ => -1);
    }

    [Theory]
    [InlineData("Generated")]
    [InlineData("Generic")]
    public void Sixteen_threads_of_parallel_calls_give_single_threaded_bits(string engineName)
    {
        // MiniLm is above the parallel threshold: each call tries the shared worker pool, so workers run chunks of
        // different calls back to back with their scratch, and a caller that finds the pool busy runs on its own thread.
        // The degree of parallelism varies per call (default, 1, 2), which must not change a bit either.
        int calls = CallsPerThread(4);
        int[] dops = { -1, 1, 2 };
        Run(Engines.Get(nameof(MiniLm), engineName), calls, dop: call => dops[call % dops.Length]);
    }

    private static int CallsPerThread(int fallback)
    {
        string? text = Environment.GetEnvironmentVariable("FSA_CONCURRENCY_SCALE");
        return string.IsNullOrWhiteSpace(text) ? fallback : Math.Max(1, (int)(fallback * double.Parse(text, System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>
    /// Each thread makes <paramref name="calls"/> calls, even ones attention and odd ones feed-forward, and compares
    /// every result with the single-threaded one as it goes.
    /// </summary>
    private static void Run(Engine engine, int calls, Func<int, int> dop)
    {
        TransformerShape shape = engine.Shape;
        var attention = TestData.Attention(shape, batch: 2, seed: 101);
        var ffn = TestData.FeedForward(shape, batch: 2, seed: 102);

        var expectedAttention = new float[attention.Q.Length];
        engine.Attention(attention.Q, attention.K, attention.V, expectedAttention, 1);
        var expectedFfn = new float[ffn.X.Length];
        engine.FeedForward(ffn.X, ffn.W1, ffn.B1, ffn.W2, ffn.B2, expectedFfn, 1);

        var failures = new ConcurrentQueue<string>();
        using var start = new Barrier(Threads);
        var threads = new Thread[Threads];
        var clock = Stopwatch.StartNew();
        for (int t = 0; t < Threads; t++)
        {
            int id = t;
            threads[t] = new Thread(() =>
            {
                var output = new float[expectedAttention.Length];
                start.SignalAndWait();
                try
                {
                    for (int call = 0; call < calls && failures.IsEmpty; call++)
                    {
                        // Poison the output first: a call that skipped an element would leave the previous result.
                        output.AsSpan().Fill(float.NaN);
                        bool isAttention = call % 2 == 0;
                        if (isAttention)
                        {
                            engine.Attention(attention.Q, attention.K, attention.V, output, dop(call));
                        }
                        else
                        {
                            engine.FeedForward(ffn.X, ffn.W1, ffn.B1, ffn.W2, ffn.B2, output, dop(call));
                        }

                        int differs = FirstDifference(isAttention ? expectedAttention : expectedFfn, output);
                        if (differs >= 0)
                        {
                            failures.Enqueue($"thread {id}, call {call} ({(isAttention ? "attention" : "feed-forward")}, dop {dop(call)}): element {differs} differs");
                        }
                    }
                }
                catch (Exception exception)
                {
                    failures.Enqueue($"thread {id}: {exception}");
                }
            })
            { IsBackground = true, Name = $"ConcurrencyTests {id}" };
            threads[t].Start();
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(s_hang), $"{engine}: thread {thread.Name} did not finish within {s_hang.TotalMinutes} minutes");
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{engine}: {Threads} threads × {calls} calls in {clock.Elapsed.TotalSeconds:F2} s");
        Assert.True(failures.IsEmpty, $"{engine}: {failures.Count} failure(s), first ones:\n{string.Join("\n", failures.Take(10))}");
    }

    private static int FirstDifference(float[] expected, float[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                return i;
            }
        }

        return -1;
    }
}
