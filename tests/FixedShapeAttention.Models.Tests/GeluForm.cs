namespace FixedShapeAttention.Models.Tests;

/// <summary>How the GELU between the two feed-forward projections is written.</summary>
public enum GeluForm
{
    /// <summary>PyTorch's export of the exact GELU: Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5), as in all-MiniLM-L6-v2.</summary>
    ErfDivided,

    /// <summary>The same function in another order: Mul(Mul(x, 0.5), Add(Erf(Mul(x, 1/√2)), 1)).</summary>
    ErfMultiplied,

    /// <summary>One ONNX opset-20 Gelu node with approximate = "none".</summary>
    Fused,

    /// <summary>GPT-2's tanh approximation: not the erf GELU, must be rejected.</summary>
    Tanh,

    /// <summary>ReLU: must be rejected.</summary>
    Relu,
}
