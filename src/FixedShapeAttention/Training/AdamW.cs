using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Training;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter), as <c>torch.optim.AdamW</c> computes it: decoupled weight decay
/// <c>p ← p·(1 − lr·λ)</c>, moments <c>m ← m + (1 − β₁)(g − m)</c> and <c>v ← β₂·v + (1 − β₂)·g²</c>, then
/// <c>p ← p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)</c>. Each element is updated on its own, so the result does
/// not depend on how the parameters are split, and a step allocates nothing.
/// </summary>
public sealed class AdamW
{
    private readonly TrainableTensor[] _parameters;
    private readonly float[][] _firstMoments;
    private readonly float[][] _secondMoments;

    /// <summary>An optimizer over <paramref name="parameters"/>, with zero moments at step 0.</summary>
    /// <exception cref="ArgumentException">A parameter is null or two share a name.</exception>
    public AdamW(IEnumerable<TrainableTensor> parameters, AdamWOptions options)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _parameters = parameters.ToArray();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (TrainableTensor? parameter in _parameters)
        {
            ArgumentNullException.ThrowIfNull(parameter, nameof(parameters));
            if (!names.Add(parameter.Name))
                throw new ArgumentException($"parameters: the name '{parameter.Name}' occurs twice.", nameof(parameters));
        }

        Options = options;
        _firstMoments = _parameters.Select(p => new float[p.Value.Length]).ToArray();
        _secondMoments = _parameters.Select(p => new float[p.Value.Length]).ToArray();
        var chunks = new List<UpdateChunk>();
        for (int i = 0; i < _parameters.Length; i++)
        {
            for (int start = 0; start < _parameters[i].Value.Length; start += ChunkElements)
                chunks.Add(new UpdateChunk(i, start, Math.Min(ChunkElements, _parameters[i].Value.Length - start)));
        }

        _chunks = chunks.ToArray();
    }

    /// <summary>Elements per parallel chunk of a step: 64 Ki floats, four arrays of them 1 MiB, a few tens of µs.</summary>
    private const int ChunkElements = 1 << 16;

    private readonly UpdateChunk[] _chunks;

    /// <summary>The hyperparameters.</summary>
    public AdamWOptions Options { get; }

    /// <summary>The parameters this optimizer updates, in the order given.</summary>
    public IReadOnlyList<TrainableTensor> Parameters => _parameters;

    /// <summary>How many steps have been taken: t of the bias corrections is <c>StepCount + 1</c> in the next step.</summary>
    public long StepCount { get; private set; }

    /// <summary>Updates every parameter from its <see cref="TrainableTensor.Gradient"/> with <paramref name="learningRate"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The learning rate is negative or not finite.</exception>
    public void Step(float learningRate) => Step(learningRate, KernelParallelism.DefaultMaxDegreeOfParallelism);

    /// <summary>As <see cref="Step(float)"/>, on at most <paramref name="maxDegreeOfParallelism"/> threads. Each
    /// element is updated on its own, so the result is the same bits for every thread count.</summary>
    internal void Step(float learningRate, int maxDegreeOfParallelism) => Step(learningRate, maxDegreeOfParallelism, gradientScale: 1f);

    /// <summary>As <see cref="Step(float, int)"/> with every gradient multiplied by <paramref name="gradientScale"/> as it is read,
    /// the bits of scaling the gradients in place first (one float multiplication each) without a pass that writes them:
    /// a trainer's clipping by global norm (<see cref="GradientClipping.ClipFactor"/>).</summary>
    internal void Step(float learningRate, int maxDegreeOfParallelism, float gradientScale)
    {
        if (!(learningRate >= 0f) || float.IsInfinity(learningRate))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "The learning rate must be ≥ 0 and finite.");

        long t = StepCount + 1;
        // The bias corrections in double, as PyTorch forms its scalars, then applied in float.
        double correction1 = 1 - Math.Pow(Options.Beta1, t);
        double correction2Root = Math.Sqrt(1 - Math.Pow(Options.Beta2, t));
        var constants = new UpdateConstants(
            StepSize: (float)(learningRate / correction1),
            InverseCorrection2Root: (float)(1 / correction2Root),
            Epsilon: Options.Epsilon,
            GradientScale: gradientScale,
            Beta1Complement: 1f - Options.Beta1,
            Beta2: Options.Beta2,
            Beta2Complement: 1f - Options.Beta2);

        long elements = 0;
        foreach (TrainableTensor parameter in _parameters)
            elements += parameter.Value.Length;
        var kernel = new UpdateKernel(this, constants, learningRate);
        ParallelRunner.Run(kernel, _chunks.Length, 12 * elements, maxDegreeOfParallelism, default, default, default, default, default, default);
        StepCount = t;
    }

    /// <summary>The moments as checkpoint tensors (<c>name.exp_avg</c>, <c>name.exp_avg_sq</c>, PyTorch's names),
    /// sharing the optimizer's arrays; <see cref="StateMetadata"/> holds the step count.</summary>
    public IEnumerable<NamedTensor> StateTensors()
    {
        for (int i = 0; i < _parameters.Length; i++)
        {
            yield return new NamedTensor(_parameters[i].Name + ".exp_avg", _parameters[i].Shape, _firstMoments[i]);
            yield return new NamedTensor(_parameters[i].Name + ".exp_avg_sq", _parameters[i].Shape, _secondMoments[i]);
        }
    }

    /// <summary>The step count, as checkpoint metadata.</summary>
    public IReadOnlyDictionary<string, string> StateMetadata() =>
        new Dictionary<string, string> { ["adamw.step"] = StepCount.ToString(CultureInfo.InvariantCulture) };

    /// <summary>Restores the moments and step count that <see cref="StateTensors"/> and <see cref="StateMetadata"/> saved.</summary>
    /// <exception cref="InvalidDataException">The checkpoint lacks a moment, has one of another shape, or has no valid step.</exception>
    public void LoadState(SafetensorsFile checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (!checkpoint.Metadata.TryGetValue("adamw.step", out string? stepText)
            || !long.TryParse(stepText, NumberStyles.None, CultureInfo.InvariantCulture, out long step))
            throw new InvalidDataException("the checkpoint has no valid 'adamw.step' metadata.");

        // Check everything before copying anything, so a rejected checkpoint leaves the optimizer as it was.
        var sources = new float[_parameters.Length * 2][];
        for (int i = 0; i < _parameters.Length; i++)
        {
            sources[2 * i] = Moment(checkpoint, _parameters[i], ".exp_avg");
            sources[2 * i + 1] = Moment(checkpoint, _parameters[i], ".exp_avg_sq");
        }

        for (int i = 0; i < _parameters.Length; i++)
        {
            sources[2 * i].CopyTo(_firstMoments[i], 0);
            sources[2 * i + 1].CopyTo(_secondMoments[i], 0);
        }

        StepCount = step;
    }

    private static float[] Moment(SafetensorsFile checkpoint, TrainableTensor parameter, string suffix)
    {
        string name = parameter.Name + suffix;
        if (!checkpoint.TryGetTensor(name, out NamedTensor tensor))
            throw new InvalidDataException($"the checkpoint has no optimizer state '{name}'.");
        if (!tensor.Shape.SequenceEqual(parameter.Shape))
            throw new InvalidDataException(
                $"optimizer state '{name}' has shape [{string.Join(", ", tensor.Shape.ToArray())}], the parameter [{string.Join(", ", parameter.Shape.ToArray())}].");
        return tensor.Data;
    }

    private readonly record struct UpdateConstants(
        float StepSize, float InverseCorrection2Root, float Epsilon, float GradientScale, float Beta1Complement, float Beta2, float Beta2Complement);

    private readonly record struct UpdateChunk(int Parameter, int Start, int Count);

    private readonly struct UpdateKernel(AdamW optimizer, UpdateConstants constants, float learningRate) : IChunkKernel
    {
        public void Execute(in KernelBuffers buffers, int chunk)
        {
            UpdateChunk part = optimizer._chunks[chunk];
            TrainableTensor parameter = optimizer._parameters[part.Parameter];
            // The decay's amount lr·λ, not the factor 1 − lr·λ: floats near 1 are 6e-8 apart, so the factor quantised the
            // amount (lr·λ = 1e-6 came out 1.3 % too large, and below 3e-8 there was no decay at all);
            // p − (lr·λ·p + update) takes it at full precision, with one rounding of p fewer.
            float decay = parameter.DecaysWeights ? (float)((double)learningRate * optimizer.Options.WeightDecay) : 0f;
            Update(parameter.Value.AsSpan(part.Start, part.Count), parameter.Gradient.AsSpan(part.Start, part.Count),
                optimizer._firstMoments[part.Parameter].AsSpan(part.Start, part.Count), optimizer._secondMoments[part.Parameter].AsSpan(part.Start, part.Count),
                decay, constants);
        }
    }

    /// <param name="decay">lr·λ for a parameter that decays, else 0.</param>
    private static void Update(Span<float> value, ReadOnlySpan<float> gradient, Span<float> m, Span<float> v, float decay, in UpdateConstants c)
    {
        int length = value.Length;
        ref float p = ref MemoryMarshal.GetReference(value);
        ref float g = ref MemoryMarshal.GetReference(gradient);
        ref float m0 = ref MemoryMarshal.GetReference(m);
        ref float v0 = ref MemoryMarshal.GetReference(v);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            // Memory-bound (four arrays read, three written per element), so 256-bit vectors are as fast as 512-bit.
            var stepSize = Vector256.Create(c.StepSize);
            var inverseRoot = Vector256.Create(c.InverseCorrection2Root);
            var epsilon = Vector256.Create(c.Epsilon);
            var beta1Complement = Vector256.Create(c.Beta1Complement);
            var beta2 = Vector256.Create(c.Beta2);
            var beta2Complement = Vector256.Create(c.Beta2Complement);
            var decayVector = Vector256.Create(decay);
            var gradientScale = Vector256.Create(c.GradientScale);
            for (; i <= length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var gi = Vector256.LoadUnsafe(ref g, (nuint)i) * gradientScale;
                var mi = Vector256.LoadUnsafe(ref m0, (nuint)i);
                var vi = Vector256.LoadUnsafe(ref v0, (nuint)i);
                mi = Vector256.FusedMultiplyAdd(beta1Complement, gi - mi, mi);
                vi = Vector256.FusedMultiplyAdd(beta2Complement * gi, gi, beta2 * vi);
                var denominator = Vector256.FusedMultiplyAdd(Vector256.Sqrt(vi), inverseRoot, epsilon);
                var pi = Vector256.LoadUnsafe(ref p, (nuint)i);
                (pi - Vector256.FusedMultiplyAdd(decayVector, pi, stepSize * mi / denominator)).StoreUnsafe(ref p, (nuint)i);
                mi.StoreUnsafe(ref m0, (nuint)i);
                vi.StoreUnsafe(ref v0, (nuint)i);
            }
        }

        for (; i < length; i++)
        {
            float gi = Unsafe.Add(ref g, i) * c.GradientScale;
            float mi = MathF.FusedMultiplyAdd(c.Beta1Complement, gi - Unsafe.Add(ref m0, i), Unsafe.Add(ref m0, i));
            float vi = MathF.FusedMultiplyAdd(c.Beta2Complement * gi, gi, c.Beta2 * Unsafe.Add(ref v0, i));
            float denominator = MathF.FusedMultiplyAdd(MathF.Sqrt(vi), c.InverseCorrection2Root, c.Epsilon);
            Unsafe.Add(ref p, i) -= MathF.FusedMultiplyAdd(decay, Unsafe.Add(ref p, i), c.StepSize * mi / denominator);
            Unsafe.Add(ref m0, i) = mi;
            Unsafe.Add(ref v0, i) = vi;
        }
    }
}
