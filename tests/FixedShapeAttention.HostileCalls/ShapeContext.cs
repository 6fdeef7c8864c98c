using System;
using System.Reflection;
using System.Runtime.Intrinsics;

namespace FixedShapeAttention.HostileCalls;

/// <summary>
/// The dimensions a call is made for: the declaring shape class's, or a default shape for members of non-shape types.
/// The baseline arguments of a case are sized from it, so that the hostile variations reach past the length checks.
/// </summary>
internal sealed record ShapeContext(string Name, int S, int E, int F, int H)
{
    /// <summary>The vector width this process packs for, as the generated <c>Lanes</c> computes it.</summary>
    public static int Lanes => Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : 1;

    public int HeadDim => E / H;

    public static ShapeContext Of(Type shapeClass)
    {
        var shape = (TransformerShape)shapeClass.GetProperty(nameof(ITransformerKernels.Shape), BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!;
        return new ShapeContext(shapeClass.Name, shape.SequenceLength, shape.EmbeddingDim, shape.FfnDim, shape.Heads);
    }

    public static bool IsShapeClass(Type type) =>
        type.IsClass && type.GetCustomAttribute<TransformerShapeAttribute>() is not null;

    /// <summary>A baseline int for a parameter, by its name: the shape's dimension it stands for, or a small count.</summary>
    public int IntFor(string name) => name.ToLowerInvariant() switch
    {
        "sequencelength" or "keycount" or "total" or "tokens" or "whenabsent" => S,
        "embeddingdim" or "hiddensize" or "sourcestride" or "dim" => E,
        "ffndim" or "intermediatesize" or "ffn" => F,
        "vocabulary" => 32,
        "heads" => H,
        "headdim" => HeadDim,
        "destinationstride" => S,
        "lanes" => Lanes,
        "maxdegreeofparallelism" => 2,
        "sequence" or "index" => 0,
        "vocabsize" => 32,
        "maxpositions" => 2 * S,
        "typevocabsize" => 2,
        "count" or "floats" => 16,
        _ => 1,
    };

    /// <summary>A baseline length for an array or span parameter, by its name: what the documented layout asks for.</summary>
    public int LengthFor(string name)
    {
        string n = name.ToLowerInvariant().Replace("out ", "", StringComparison.Ordinal);
        return n switch
        {
            "q" or "k" or "v" or "x" or "y" or "output" or "input" or "residual" or "lasthiddenstate" or "keys" => S * E,
            "keyst" => HeadDim * S,
            "w1" or "packedw1" or "feedforwardweight1" => E * F,
            "w2" or "packedw2" or "feedforwardweight2" => F * E,
            "b1" or "feedforwardbias1" => F,
            "feedforwardbias2" => E,
            "w" or "packedw" => E * E,
            "keycounts" or "tokencounts" or "sequencecounts" or "counts" => 1,
            "inputids" or "attentionmask" or "tokentypeids" => S,
            "wordembeddings" => 32 * E,
            "positionembeddings" => 2 * S * E,
            "tokentypeembeddings" => 2 * E,
            _ when n.EndsWith("weight", StringComparison.Ordinal) => E * E,
            _ when n is "b" or "b2" or "a" or "gamma" or "beta" || n.EndsWith("bias", StringComparison.Ordinal) || n.EndsWith("gamma", StringComparison.Ordinal) || n.EndsWith("beta", StringComparison.Ordinal) => E,
            _ => 16,
        };
    }

    public override string ToString() => Name;
}
