using System;
using System.IO;
using System.Linq;

namespace FixedShapeAttention.Models;

/// <summary>
/// The dimensions an <see cref="ISentenceEncoderShape"/> declares, read once as values, and the check that a model
/// has them. The generator emits consistent values; a hand-written implementation is checked like one.
/// </summary>
internal sealed record ShapeDeclaration(string Name, int HiddenSize, int Heads, int FfnWidth, Activation Activation, int MaxLength, int[] Buckets)
{
    public static ShapeDeclaration Of<TShape>()
        where TShape : ISentenceEncoderShape
    {
        string name = typeof(TShape).Name;
        int[] buckets = TShape.Buckets?.ToArray() ?? [];
        bool increasing = buckets.Length > 0 && buckets[0] >= 2;
        for (int i = 1; i < buckets.Length && increasing; i++)
        {
            increasing = buckets[i] > buckets[i - 1];
        }

        if (TShape.HiddenSize < 1 || TShape.Heads < 1 || TShape.HiddenSize % TShape.Heads != 0 || TShape.FfnWidth < 1 || !increasing || buckets[^1] != TShape.MaxLength)
        {
            throw new ArgumentException(
                $"{name} is not a valid sentence encoder shape: HiddenSize {TShape.HiddenSize}, Heads {TShape.Heads}, FfnWidth {TShape.FfnWidth}, " +
                $"MaxLength {TShape.MaxLength}, Buckets [{string.Join(", ", buckets)}]; declare it with [SentenceEncoderShape] and let the generator implement it.",
                "TShape");
        }

        return new ShapeDeclaration(name, TShape.HiddenSize, TShape.Heads, TShape.FfnWidth, TShape.Activation, TShape.MaxLength, buckets);
    }

    /// <summary>Throws <see cref="InvalidDataException"/> naming the model's dimensions and the declaration's when they differ.</summary>
    /// <param name="source">What the config came from, for the message ("the model file 'x.onnx'").</param>
    public void CheckMatches(BertConfig config, string source)
    {
        if (config.HiddenSize != HiddenSize || config.Heads != Heads || config.IntermediateSize != FfnWidth || config.MaxPositions < MaxLength)
        {
            throw new InvalidDataException(
                $"{Capitalised(source)} does not match {Name}: the model has hidden size {config.HiddenSize}, {config.Heads} heads, FFN width {config.IntermediateSize} " +
                $"and {config.MaxPositions} positions, while {Name} declares [SentenceEncoderShape({HiddenSize}, {Heads}, {FfnWidth}, MaxLength = {MaxLength})], " +
                $"which needs those widths and at least {MaxLength} positions. Declare a shape with the model's dimensions.");
        }
    }

    private static string Capitalised(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
