use smoe_model::{draw_sample, kernel, seed, Expert, Gate, Spec, TruthParams, Workspace};
fn main() {
    let n = 100_000;
    for gate in [Gate::Sigmoid, Gate::Softmax] {
        for expert in [Expert::Relu, Expert::Linear, Expert::Gelu] {
            let truth = TruthParams {
                gate,
                expert,
                d: 32,
                k_star: 9,
                gate_var: None,
                expert_var: None,
                zero_gate_slope: vec![],
                zero_expert_slope: vec![],
            }
            .check()
            .unwrap()
            .draw(&mut seed::stream(1, &[]));
            let data = draw_sample(&truth, n, 0.01, &mut seed::stream(2, &[])).unwrap();
            let spec = Spec::new(gate, expert, 9, 32).unwrap();
            let mut ws = Workspace::default();
            let mut g = vec![0.0; spec.n_params()];
            let reps = 20;
            let t = std::time::Instant::now();
            for _ in 0..reps {
                kernel::loss_grad(&spec, &truth.theta, &data.x, &data.y, Some(&mut g), &mut ws);
            }
            let dt = t.elapsed().as_secs_f64() / reps as f64;
            let t2 = std::time::Instant::now();
            let mut out = vec![0.0; n];
            for _ in 0..reps {
                kernel::predict_into(&spec, &truth.theta, &data.x, &mut out, &mut ws);
            }
            let dp = t2.elapsed().as_secs_f64() / reps as f64;
            let t3 = std::time::Instant::now();
            for _ in 0..reps {
                kernel::loss_grad_impl(&spec, &truth.theta, &data.x, &data.y, Some(&mut g), &mut ws);
            }
            let dq = t3.elapsed().as_secs_f64() / reps as f64;
            println!(
                "{gate} {expert}: loss_grad {:.2} ms ({:.1} GFLOP/s), portable body {:.2} ms, predict {:.2} ms",
                dt * 1e3,
                kernel::flops_loss_grad(&spec, n) / dt / 1e9,
                dq * 1e3,
                dp * 1e3
            );
        }
    }
}
