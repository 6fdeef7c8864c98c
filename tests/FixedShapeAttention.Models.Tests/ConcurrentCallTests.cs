using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace FixedShapeAttention.Models.Tests;

/// <summary>Concurrent callers are served by a pool of workspaces: none waits for another, and every result is the one a lone call gives.</summary>
public sealed class ConcurrentCallTests
{
    private static readonly string[] s_texts = { "the cat sat on the mat", "a big red ball", "the dogs ran far away and the cat sat", "" };

    [Fact]
    public async Task A_call_runs_while_another_call_holds_a_workspace()
    {
        using var directory = new TinyModelDirectory();
        SentenceEncoder encoder = SentenceEncoder.Load<TinyBertShape>(directory.ModelPath, directory.VocabularyPath);
        float[][] expected = encoder.Embed(s_texts, TestContext.Current.CancellationToken);
        Assert.Equal(1, encoder.WorkspacesCreated);

        // Holding the only workspace stands for a call in progress. Behind one lock the second call would never finish;
        // the timeout only bounds how long a broken pool hangs the test run.
        EncoderWorkspace held = encoder.Workspaces.Rent();
        try
        {
            float[][] second = await Task.Run(() => encoder.Embed(s_texts, TestContext.Current.CancellationToken), TestContext.Current.CancellationToken)
                .WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
            Assert.Equal(expected.SelectMany(e => e), second.SelectMany(e => e));
            Assert.Equal(2, encoder.WorkspacesCreated);
        }
        finally
        {
            encoder.Workspaces.Return(held);
        }
    }

    [Fact]
    public async Task Many_concurrent_callers_get_the_bits_of_a_lone_call()
    {
        using var directory = new TinyModelDirectory();
        SentenceEncoder encoder = SentenceEncoder.Load<TinyBertShape>(directory.ModelPath, directory.VocabularyPath, new SentenceEncoderOptions { MaxTokensPerBatch = 8 });
        float[] expected = encoder.Embed(s_texts, TestContext.Current.CancellationToken).SelectMany(e => e).ToArray();

        using var start = new Barrier(8);
        float[][] results = await Task.WhenAll(Enumerable.Range(0, 8)
            .Select(_ => Task.Factory.StartNew(() =>
            {
                start.SignalAndWait(TestContext.Current.CancellationToken);
                return Enumerable.Range(0, 20).SelectMany(_ => encoder.Embed(s_texts, TestContext.Current.CancellationToken).SelectMany(e => e)).ToArray();
            }, TestContext.Current.CancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default)));

        foreach (float[] result in results)
        {
            Assert.Equal(Enumerable.Range(0, 20).SelectMany(_ => expected), result);
        }
    }

    [Fact]
    public void Returned_workspaces_beyond_the_pool_size_are_dropped_and_reuse_makes_none()
    {
        using var directory = new TinyModelDirectory();
        SentenceEncoder encoder = SentenceEncoder.Load<TinyBertShape>(directory.ModelPath, directory.VocabularyPath, new SentenceEncoderOptions { MaxPooledWorkspaces = 1 });
        EncoderWorkspace first = encoder.Workspaces.Rent(), second = encoder.Workspaces.Rent();
        encoder.Workspaces.Return(first);
        encoder.Workspaces.Return(second);
        Assert.Same(first, encoder.Workspaces.Rent());
        Assert.NotSame(second, encoder.Workspaces.Rent());
        Assert.Equal(3, encoder.WorkspacesCreated);
    }
}
