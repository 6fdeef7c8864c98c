using System;
using System.IO;
using System.Threading.Tasks;

namespace FixedShapeAttention.Models.Tests;

/// <summary>
/// Loads model bytes on a worker thread with a deadline, and reports what happened: the weights, or the exception.
/// A hostile input must fail fast with <see cref="InvalidDataException"/>; a hang becomes a test failure here instead of
/// a stuck test run.
/// </summary>
internal static class LoadAttempt
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    public static async Task<(BertWeights? Weights, Exception? Error)> RunAsync(byte[] model)
    {
        Task<BertWeights> load = Task.Run(() => OnnxBertLoader.Load(new MemoryStream(model, writable: false)));
        try
        {
            return (await load.WaitAsync(Deadline), null);
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"loading {model.Length} bytes did not finish within {Deadline.TotalSeconds} s.");
        }
        catch (Exception ex)
        {
            return (null, ex);
        }
    }

    /// <summary>Asserts that loading fails with exactly <see cref="InvalidDataException"/> and a message; returns it.</summary>
    public static async Task<InvalidDataException> RejectsAsync(byte[] model)
    {
        (BertWeights? weights, Exception? error) = await RunAsync(model);
        Xunit.Assert.Null(weights);
        var rejection = Xunit.Assert.IsType<InvalidDataException>(error, exactMatch: true);
        Xunit.Assert.False(string.IsNullOrWhiteSpace(rejection.Message));
        return rejection;
    }
}
