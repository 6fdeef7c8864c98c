using System;
using System.Linq;
using Microsoft.ML.OnnxRuntime;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// One ONNX Runtime session with its inputs and output bound once (IOBinding over the case's own arrays), so a
/// benchmark call is one Run: no tensor copies, no allocation of outputs.
/// </summary>
public sealed class OnnxRuntimeRunner : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions = new();
    private readonly OrtValue[] _values;

    public OnnxRuntimeRunner(byte[] model, int threads, (string Name, float[] Data)[] inputs, (string Name, float[] Data) output, long[] dims)
        : this(model, threads,
               inputs.Select(input => (input.Name, OrtValue.CreateTensorValueFromMemory(input.Data, dims))).ToArray(),
               (output.Name, OrtValue.CreateTensorValueFromMemory(output.Data, dims)))
    {
    }

    /// <summary>Binds values the caller created over its own arrays (any element type); the runner disposes them.</summary>
    public OnnxRuntimeRunner(byte[] model, int threads, (string Name, OrtValue Value)[] inputs, (string Name, OrtValue Value) output)
    {
        var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(model, options);
        _binding = _session.CreateIoBinding();
        _values = new OrtValue[inputs.Length + 1];
        for (int i = 0; i < inputs.Length; i++)
        {
            _values[i] = inputs[i].Value;
            _binding.BindInput(inputs[i].Name, _values[i]);
        }

        _values[^1] = output.Value;
        _binding.BindOutput(output.Name, _values[^1]);
    }

    public void Run() => _session.RunWithBinding(_runOptions, _binding);

    public void Dispose()
    {
        _binding.Dispose();
        foreach (OrtValue value in _values)
        {
            value.Dispose();
        }

        _runOptions.Dispose();
        _session.Dispose();
    }
}
